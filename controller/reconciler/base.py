"""What the engine and its adapters share: the object view, outcomes, conditions, references and what one object
publishes for the others (``Board``)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from controller.api.models import Condition
from controller.planner.claims import Claim as Claim  # re-exported: the engine's claim rules are the planner's
from controller.planner.claims import claim_owner as claim_owner

Trigger = Literal["change", "resume", "resync", "event", "delete"]


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ObjectView:
    """The parts of a Kubernetes object a reconciler reads (no kopf types cross this line)."""

    kind: str
    name: str
    generation: int
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    retry: int = 0
    trigger: Trigger = "change"
    created: str = ""  # metadata.creationTimestamp: the older of two objects claiming one resource keeps it
    #: metadata.annotations (read at deletion: an account's confirmation, ``CONFIRM_DELETION``)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec_changed(self) -> bool:
        return self.status.get("observedGeneration") != self.generation


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Outcome:
    """The result of one reconcile: the new status, events to post, and when to look again.

    ``requeue_after``: retry after this many seconds (the handler raises a temporary error).
    ``done``: for deletions, the finalizer may be removed.
    """

    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    done: bool = False
    result: Literal["success", "error", "waiting"] = "success"
    # What was carried out in AWS (or recorded, in a dry run), in order, and the failures, one per action.
    applied: list[Any] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        """A wait (a reference, a creation in progress), not a failure: looked at again soon, logged as INFO."""
        return self.result == "waiting"


@dataclass(frozen=True)
class RefState:
    """What is known about a referenced object: its AWS id, and the objects it refers to itself (for cycles)."""

    exists: bool
    id: str | None = None
    ready: bool = False
    deleting: bool = False
    refs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IndexEntry:
    """What the other objects need to know about one object, as the kopf indexes and the dry run keep it: its
    id and references (``ref``), and what it claims (``claim_keys``, each held by ``claim``; none: it claims
    nothing). The values are kept as they are (typed), so there is nothing to decode."""

    ref: RefState
    claim_keys: tuple[str, ...] = ()
    claim: Claim | None = None


class References(Protocol):
    """What the other objects of this API say: their ids (references) and what they declare (claims)."""

    def get(self, kind: str, name: str) -> RefState: ...

    def claims(self, kind: str, key: str) -> list[Claim]: ...

    def claim_keys(self, kind: str) -> list[str]:
        """What the objects of a kind declare (their claim keys), e.g. ``SERVICE_CONTROL_POLICY/deny-root``."""
        ...


class Board:
    """Facts one object publishes for the objects of another kind, keyed by the AWS id those are bound to (the
    Organization's baseline verdict per member account, for each AwsAccount's ``Baselined`` condition).

    A topic is None until its publisher has spoken since this process started (readers then keep what they
    have); a publisher that is deleted, or declares nothing, publishes an empty mapping. What changed is kept
    until the drivers take it (``take_changed``: the objects bound to those ids are compared again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, tuple[str, str, dict[str, Any]]] = {}  # topic -> (publisher, about kind, facts)
        self._changed: set[tuple[str, str]] = set()

    def publish(self, topic: str, publisher: str, about: str, facts: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
        """Replace ``topic``'s facts (about objects of kind ``about``); returns the (kind, id) whose fact changed."""
        with self._lock:
            old = self._topics.get(topic, ("", about, {}))[2]
            changed = {(about, i) for i in set(old) | set(facts) if old.get(i) != facts.get(i)}
            self._topics[topic] = (publisher, about, dict(facts))
            self._changed |= changed
            return frozenset(changed)

    def withdraw(self, publisher: str) -> frozenset[tuple[str, str]]:
        """The publisher is gone: each of its topics says nothing about anyone any more."""
        with self._lock:
            topics = [(t, about) for t, (who, about, _) in self._topics.items() if who == publisher]
        changed: set[tuple[str, str]] = set()
        for topic, about in topics:
            changed |= self.publish(topic, publisher, about, {})
        return frozenset(changed)

    def read(self, topic: str) -> Mapping[str, Any] | None:
        with self._lock:
            found = self._topics.get(topic)
            return None if found is None else found[2]

    def take_changed(self) -> set[tuple[str, str]]:
        with self._lock:
            changed, self._changed = self._changed, set()
            return changed


class Conditions:
    """Kubernetes-style conditions; ``lastTransitionTime`` changes only when ``status`` changes."""

    def __init__(self, existing: list[Mapping[str, Any]] | None, generation: int) -> None:
        self._by_type: dict[str, dict[str, Any]] = {c["type"]: dict(c) for c in existing or [] if "type" in c}
        self._generation = generation

    def set(self, type_: str, status: bool, reason: str, message: str = "") -> None:
        value = "True" if status else "False"
        old = self._by_type.get(type_)
        transition = old["lastTransitionTime"] if old and old.get("status") == value else now_iso()
        self._by_type[type_] = Condition(type=type_, status=value, reason=reason, message=message,
                                         last_transition_time=transition,
                                         observed_generation=self._generation).model_dump(by_alias=True)

    def get(self, type_: str) -> dict[str, Any] | None:
        return self._by_type.get(type_)

    def remove(self, type_: str) -> None:
        """The condition no longer applies (what it reported is no longer declared)."""
        self._by_type.pop(type_, None)

    def as_list(self) -> list[dict[str, Any]]:
        order = {"Ready": 0, "Synced": 1, "Drifted": 2}
        return sorted(self._by_type.values(), key=lambda c: (order.get(c["type"], 9), c["type"]))


def describe_validation_error(kind: str, name: str, exc: ValidationError) -> str:
    """``spec.parentRef.name: String should match pattern ...`` for each problem."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"spec.{loc}: {err['msg']}")
    return f"{kind} {name!r} is invalid: " + "; ".join(parts)
