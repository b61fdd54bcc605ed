"""What every kind's reconciler shares: the object view, outcomes, conditions, references."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

Trigger = Literal["change", "resume", "resync", "delete"]


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


@dataclass(frozen=True)
class RefState:
    """What is known about a referenced object."""

    exists: bool
    id: str | None = None
    ready: bool = False
    deleting: bool = False


@dataclass(frozen=True)
class EmailClaim:
    """An AwsAccount object that declares an email, and how far it got."""

    name: str
    id: str | None = None
    request_id: str | None = None
    creating: bool = False
    created: str = ""


class References(Protocol):
    """Resolve ``{name: ...}`` references to other objects of this API."""

    def get(self, kind: str, name: str) -> RefState: ...

    def email_claims(self, email: str) -> list[EmailClaim]: ...

    def policy_claims(self, policy_type: str, name: str) -> list[EmailClaim]: ...


def claim_owner(me: EmailClaim, others: list[EmailClaim]) -> str | None:
    """Which other object owns what both declare (an email, a policy name), if not this one: the one bound
    to the AWS resource first, then one already creating it, then the oldest (creationTimestamp, name)."""
    others = [o for o in others if o.name != me.name]
    if me.id:
        return None
    bound = sorted(o.name for o in others if o.id)
    if bound:
        return bound[0]
    if me.request_id or me.creating:
        return None
    creating = sorted(o.name for o in others if o.request_id or o.creating)
    if creating:
        return creating[0]
    older = sorted((o.created, o.name) for o in others if (o.created, o.name) < (me.created, me.name))
    return older[0][1] if older else None


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
