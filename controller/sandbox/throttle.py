"""Throttling and concurrent modification in the sandbox AWS Organizations, arising on their own as in AWS.

The strict layer (:mod:`controller.sandbox.strict`) serves requests on many threads at once, like AWS.  Two
things AWS Organizations answers under load are played here, before a request reaches the rules and moto:

* **Throttling.**  Each calling account has a token bucket (``rate`` tokens a second, at most ``burst``
  stored).  A request finding the bucket empty is answered ``TooManyRequestsException``: botocore's model
  (``organizations/2016-11-28/service-2.json``) gives that shape no ``error.httpStatusCode``, so it travels
  as the JSON protocol's HTTP 400 with ``{"__type", "Message"}`` (``Type`` is optional in the shape and not
  sent: no AWS answer seen carries it).  "You have sent too many requests in too short a period of time.
  The quota helps protect against denial-of-service attacks. Try again later." (the shape's documentation).
  The quotas page ("Quotas and service limits for AWS Organizations") has a "Throttling limits" section, but
  AWS long published no figure for Organizations' APIs (awsdocs/aws-organizations-docs issue 39: "I can't find
  any documentation about the throttling limit for any Organizations APIs"); what users report is throttling
  from a few calls at once on (awslabs/aws-deployment-framework issues 752 and 788: ListParents and ListRoots
  throttled while bootstrapping 3-5 accounts; org-formation/org-formation-cli issue 280: a single ``init``),
  and, for the Account Management API, past about 36 accounts (hashicorp/terraform-provider-aws issue 42484).
  The default below (:data:`DEFAULT_RATE`) is therefore low enough that the landing zone in ``examples/``
  meets it when applied at once.
* **Concurrent modification.**  A write holds the entities it changes (see :data:`ENTITIES`: the target of
  AttachPolicy and DetachPolicy, the resource of TagResource and UntagResource, the organization's account
  list for CreateAccount, the parent of CreateOrganizationalUnit, the account of MoveAccount, ...) from the
  moment it is admitted until it is answered, which takes at least ``write_seconds``.  A second write
  touching one of them meanwhile is answered ``ConcurrentModificationException`` (HTTP 400): "The target of
  the operation is currently being modified by a different request. Try again later." (botocore's model);
  AWS's text is "AWS Organizations can't complete your request because it conflicts with another attempt to
  modify the same entity. Try again later." (org-formation/org-formation-cli issue 7).  Met in AWS:
  concurrent policy attachments (hashicorp/terraform-provider-aws issue 5073), OU creation
  (awslabs/aws-deployment-framework issue 180), UpdatePolicy (aws-solutions/aws-control-tower-customizations
  issue 175).

Both refusals happen before the request has any effect, and both are counted (:attr:`Traffic.throttled`,
:attr:`Traffic.conflicts`) so that a test can prove it met them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: Tokens a second per calling account.  AWS publishes no figure for Organizations (see the module's
#: docstring).  Measured here: the landing zone of ``examples/`` applied at once makes some 70 calls, about 35
#: of them within half a second (the first snapshot read, then every object's creation); at 20 a second with a
#: burst of 15 some 15 of them are throttled (retried by the operator: Ready after ~5 s instead of ~4 s), while
#: the sandbox's own tests, which make a handful of calls in a row, stay below it.
DEFAULT_RATE = 20.0
#: Tokens stored: the calls a client may make at once after a quiet moment.
DEFAULT_BURST = 15
#: Seconds a write holds the entities it changes (AWS's writes take tens to hundreds of milliseconds).
DEFAULT_WRITE_SECONDS = 0.02

#: As AWS words them: awslabs/aws-deployment-framework issue 788 (2025) and org-formation/org-formation-cli issue 7.
THROTTLED_MESSAGE = "You have sent too many requests in too short a period of time. Try again later."
CONFLICT_MESSAGE = ("AWS Organizations can't complete your request because it conflicts with another attempt to "
                    "modify the same entity. Try again later.")


def _param(name: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda params: [str(params[name])] if params.get(name) else []


#: Write operation -> (entity kind, the ids it touches).  Kinds are independent: tagging an account does not
#: conflict with moving it.
ENTITIES: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "AttachPolicy": ("policies-of", _param("TargetId")),
    "DetachPolicy": ("policies-of", _param("TargetId")),
    "TagResource": ("tags-of", _param("ResourceId")),
    "UntagResource": ("tags-of", _param("ResourceId")),
    # Creating an account adds it to the organization's account list: one creation starts at a time.
    "CreateAccount": ("accounts-of", lambda params: ["organization"]),
    "CreateGovCloudAccount": ("accounts-of", lambda params: ["organization"]),
    "MoveAccount": ("account", _param("AccountId")),
    "CloseAccount": ("account", _param("AccountId")),
    "RemoveAccountFromOrganization": ("account", _param("AccountId")),
    "UpdatePolicy": ("policy", _param("PolicyId")),
    "DeletePolicy": ("policy", _param("PolicyId")),
    # A new OU is a child of its parent: awslabs/aws-deployment-framework issue 180 met ConcurrentModification
    # on CreateOrganizationalUnit ("it conflicts with another attempt to modify the same entity").
    "CreateOrganizationalUnit": ("children-of", _param("ParentId")),
    "UpdateOrganizationalUnit": ("ou", _param("OrganizationalUnitId")),
    "DeleteOrganizationalUnit": ("ou", _param("OrganizationalUnitId")),
    "EnablePolicyType": ("policy-types-of", _param("RootId")),
    "DisablePolicyType": ("policy-types-of", _param("RootId")),
}


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Refused(Exception):
    """What the request is answered instead: ``code`` and ``message`` (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Traffic:
    """Token buckets per calling account and the entities held by writes in flight.

    ``rate`` None switches throttling off; ``write_seconds`` None switches concurrent-modification refusals off
    (writes then hold nothing).  Thread-safe: its own small lock, never held while a request is handled."""

    def __init__(self, *, rate: float | None = DEFAULT_RATE, burst: int = DEFAULT_BURST,
                 write_seconds: float | None = DEFAULT_WRITE_SECONDS) -> None:
        self.rate = rate
        self.burst = burst
        self.write_seconds = write_seconds
        self._lock = threading.Lock()
        self._buckets: dict[Any, TokenBucket] = {}
        self._held: set[tuple[Any, str, str]] = set()
        #: operation -> requests answered TooManyRequestsException / ConcurrentModificationException
        self.throttled: Counter[str] = Counter()
        self.conflicts: Counter[str] = Counter()

    def reset(self) -> None:
        """Full buckets, nothing counted (entities held by requests still in flight stay held)."""
        with self._lock:
            self._buckets.clear()
        self.reset_counts()

    def reset_counts(self) -> None:
        with self._lock:
            self.throttled.clear()
            self.conflicts.clear()

    def _admit(self, caller: Any, operation: str) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None or bucket.rate != self.rate or bucket.burst != self.burst:
                bucket = self._buckets[caller] = TokenBucket(self.rate, self.burst, float(self.burst), now)
            if bucket.take(now):
                return
            self.throttled[operation] += 1
        raise Refused("TooManyRequestsException", THROTTLED_MESSAGE)

    @contextmanager
    def request(self, caller: Any, operation: str, params: dict[str, Any]) -> Iterator[None]:
        """Admit one request of ``caller`` (the account and partition it signs as), or raise :class:`Refused`.

        A write holds its entities for ``write_seconds`` (slept outside every lock, so other requests proceed
        meanwhile) and then until the ``with`` block, in which it takes effect, is left."""
        self._admit(caller, operation)
        entities = ENTITIES.get(operation)
        hold = self.write_seconds
        if entities is None or hold is None:
            yield
            return
        kind, ids = entities
        keys = {(caller, kind, entity_id) for entity_id in ids(params)}
        with self._lock:
            if keys & self._held:
                self.conflicts[operation] += 1
                raise Refused("ConcurrentModificationException", CONFLICT_MESSAGE)
            self._held |= keys
        try:
            # The write's time in flight comes before its effect (and its CloudTrail event, delivered with the
            # effect): the answer follows the effect at once, as the operator's tell-own-writes-by-request-id
            # logic (controller/aws/gateway.py) expects of AWS, whose events arrive long after the answer.
            time.sleep(hold)
            yield
        finally:
            with self._lock:
                self._held -= keys
