"""What every kind's reconciler shares: the object view, outcomes, conditions, references."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

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


class References(Protocol):
    """What the other objects of this API say: their ids (references) and what they declare (claims)."""

    def get(self, kind: str, name: str) -> RefState: ...

    def claims(self, kind: str, key: str) -> list[Claim]: ...

    def claim_keys(self, kind: str) -> list[str]:
        """What the objects of a kind declare (their claim keys), e.g. ``SERVICE_CONTROL_POLICY/deny-root``."""
        ...


class Conditions:
    """Kubernetes-style conditions; ``lastTransitionTime`` changes only when ``status`` changes."""

    def __init__(self, existing: list[Mapping[str, Any]] | None, generation: int) -> None:
        self._by_type: dict[str, dict[str, Any]] = {c["type"]: dict(c) for c in existing or [] if "type" in c}
        self._generation = generation

    def set(self, type_: str, status: bool, reason: str, message: str = "") -> None:
        value = "True" if status else "False"
        old = self._by_type.get(type_)
        transition = old["lastTransitionTime"] if old and old.get("status") == value else now_iso()
        self._by_type[type_] = {
            "type": type_,
            "status": value,
            "reason": reason,
            "message": message,
            "lastTransitionTime": transition,
            "observedGeneration": self._generation,
        }

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
