"""Propagation delays: an IAM or S3 policy change is seen by STS, CloudTrail and Config only some time after IAM or S3
answered it, as in AWS.

AWS IAM user guide, "Troubleshoot IAM" > "Changes that I make are not always immediately visible"
(docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency):
"IAM uses a distributed computing model called eventual consistency. Any change that you make in IAM (or other AWS
services) ... takes time to become visible from all possible endpoints. Some of the delay results from the time it
takes to send the data from server to server, from replication zone to replication zone, and from Region to Region
around the world. IAM also uses caching to improve performance, but in some cases this can add time. The change
might not be visible until the previously cached data times out." and "be sure to verify that the changes have been
propagated before production workflows depend on them." (read 2026-12-07). What the other services answer meanwhile
is what they answer to the policy they still see: CloudTrail's CreateTrail/UpdateTrail
``InsufficientS3BucketPolicyException`` ("the policy on the S3 bucket is not sufficient", botocore cloudtrail
2013-11-01), Config's PutDeliveryChannel ``InsufficientDeliveryPolicyException`` and PutConfigurationAggregator
``InvalidRoleException`` (config 2014-11-12), STS AssumeRole ``AccessDenied`` (sts 2011-06-15). The same failure
after a fresh write is what other tools met in AWS (hashicorp/terraform#5051, CloudTrail and "IAM eventual
consistency": "I wish there was a different error code for these").

The sandbox plays it with one setting, ``delay`` (seconds; :attr:`controller.sandbox.aws.AwsSandbox.
propagation_delay`, 0 by default: every change seen at once). For that long after a successful write the services
see what was there before it:

* S3 PutBucketPolicy and DeleteBucketPolicy: CloudTrail and Config see the bucket's previous policy (none for a
  bucket that had none);
* IAM CreateRole: STS and Config do not see the role yet; UpdateAssumeRolePolicy: they see its previous trust policy.

IAM itself, S3 itself (GetBucketPolicy, GetRole) answer the new state at once, as in AWS (the caller's own reads are
not what the user guide warns about, and the operator reads them to plan).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

#: IAM operations whose effect on a role other services see late (the Query API's Action), and S3's policy writes.
ROLE_WRITES = frozenset({"CreateRole", "UpdateAssumeRolePolicy"})


@dataclass(frozen=True)
class _Change:
    previous: str | None  # what the services still see: the previous document (None: no policy / no role)
    at: float



class Propagation:
    """The recent policy changes and what the other services still see of them."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._buckets: dict[str, _Change] = {}
        self._roles: dict[tuple[str, str], _Change] = {}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._roles.clear()

    # -- what the services see ---------------------------------------------------------------------------------
    def _seen(self, changes: dict[Any, _Change], key: Any, current: Any, now: float | None) -> Any:
        with self._lock:
            change = changes.get(key)
        if change is None or self.delay <= 0:
            return current
        return change.previous if (time.time() if now is None else now) < change.at + self.delay else current

    def bucket_policy(self, bucket: str, current: str | None, now: float | None = None) -> str | None:
        """The bucket policy CloudTrail and Config see (``current``: what S3 holds)."""
        seen: str | None = self._seen(self._buckets, bucket, current, now)
        return seen

    def trust_policy(self, account: str, role: str, current: str, now: float | None = None) -> str | None:
        """The trust policy of an existing role as STS and Config see it; None: they do not see the role yet."""
        seen: str | None = self._seen(self._roles, (account, role), current, now)
        return seen

    # -- the writes --------------------------------------------------------------------------------------------
    def _record(self, changes: dict[Any, _Change], key: Any, previous: str | None) -> None:
        now = time.time()
        with self._lock:
            for stale in [k for k, c in changes.items() if now >= c.at + self.delay]:
                del changes[stale]  # seen everywhere already: keep only what is propagating
            old = changes.get(key)
            if old is not None and now < old.at + self.delay:
                previous = old.previous  # two writes in a row: the services still see what was before both
            changes[key] = _Change(previous, now)

    def forward(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Callable[..., Any],
                operation: str | None, body: bytes, caller: str) -> Iterable[bytes]:
        """Hand the request to moto; when it is a policy write that succeeds, remember what was there before it."""
        before = self._before(environ, operation, body, caller) if self.delay > 0 else None
        if before is None:
            return app(environ, start_response)
        answered: dict[str, str] = {}

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered["status"] = status
            return start_response(status, headers, exc_info)

        result = app(environ, recording)
        if answered.get("status", "").startswith("2"):
            changes, key, previous = before
            self._record(changes, key, previous)
        return result

    def _before(self, environ: dict[str, Any], operation: str | None, body: bytes,
                caller: str) -> tuple[dict[Any, _Change], Any, str | None] | None:
        if operation in ROLE_WRITES:
            params = parse_qs(body.decode("utf-8", "replace"))
            name = (params.get("RoleName") or [""])[0]
            role = _role(caller, name)
            if operation == "CreateRole":
                return (self._roles, (caller, name), None) if role is None else None
            return (self._roles, (caller, name), str(role.assume_role_policy_document)) if role is not None else None
        method = environ.get("REQUEST_METHOD", "")
        if operation is None and method in ("PUT", "DELETE") and "policy" in parse_qs(
                environ.get("QUERY_STRING", ""), keep_blank_values=True):
            bucket = environ.get("PATH_INFO", "").strip("/").split("/", 1)[0]
            found = _bucket(bucket)
            if found is None:
                return None
            return self._buckets, bucket, _policy_text(found)
        return None


def _role(account: str, name: str) -> Any:
    from moto.iam.models import iam_backends

    return next((r for r in iam_backends[account]["global"].roles.values() if r.name == name), None)


def _bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def _policy_text(bucket: Any) -> str | None:
    policy = getattr(bucket, "policy", None)
    if isinstance(policy, bytes):
        return policy.decode()
    return str(policy) if policy else None
