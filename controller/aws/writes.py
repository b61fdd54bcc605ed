"""How an AWS write is declared: once, beside the gateway method that makes it.

    @write(CreateOU, "Created", lambda gw, a, _: gw.create_ou(a.parent_id, a.name, a.tags),
           yields=lambda a, ou: Applied(ou.id), symbol="+", by_name=True)
    def create_ou(self, parent_id: str, name: str, tags: Mapping[str, str]) -> ObservedOU: ...

A registration ties one action type of the planner (``controller.planner.actions``) to the method of the gateway
class it decorates (``OrganizationsGateway``, ``CentralLoggingGateway``, ``MemberAccounts``) and says:

- ``reason``: the reason of the event posted when the write happens;
- ``call``: how that gateway carries the action out (``gw``: the gateway of the method's class; the third argument
  is the id an earlier action of the same plan created: the new policy an AttachPolicy attaches);
- ``yields``: what it leaves (:class:`Applied`: the id it created, status fields, an event message, a wait for
  AWS, or that nothing needed doing), from what the call returned; ``Applied()`` when not given;
- ``explain``: its AWS errors in words a person can act on (a ``Blocked``), None for the default wording;
  ``done_codes``: AWS error codes that mean its goal holds already (not a failure);
- ``symbol``, ``by_name``, ``document``: how ``awsorg plan`` shows it (+ creates, - deletes, ~ changes; matched by
  name, so without ``--base`` a rename looks the same; the policy document it replaces and the new one).

What a write does to the organization snapshot or the gateway's other knowledge (trusted services, roles, the
trail) stays in the method, after its call: the dry run (``controller.aws.dryrun``) runs the same method over a
client that records instead of sending, so it sees the same effect. The reconciler dispatches every action
through :func:`registration` (``controller.reconciler.execute``) and lists none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from controller.aws.errors import AwsError
from controller.planner.actions import Action, Blocked

A = TypeVar("A", bound=Action)
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Applied:
    """What a carried-out action left: the id of what it created, status fields it sets, a message for its
    event, and a wait when it started something AWS finishes later (CreateAccount)."""

    resource_id: str | None = None
    status: BaseModel | None = None  # the status fields it sets, through the kind's typed status model
    message: str = ""
    wait: Blocked | None = None
    happened: bool = True  # False: nothing needed doing after all (a concurrent reconcile did it)


NOTHING_DONE = Applied(happened=False)


def happened(_: Action, done: bool) -> Applied:
    """``yields`` of a method answering False when AWS said its goal already held (registered already, ...)."""
    return Applied() if done else NOTHING_DONE


def _nothing(_: Action, __: object) -> Applied:
    return Applied()


@dataclass(frozen=True)
class Write:
    """One registration (see the module docstring)."""

    action: type[Action]
    reason: str
    call: Callable[[Any, Any, str | None], Any]
    gateway: str  # the class whose method carries it out: OrganizationsGateway, CentralLoggingGateway, ...
    method: str
    yields: Callable[[Any, Any], Applied] = _nothing
    explain: Callable[[Any, AwsError], Blocked | None] | None = None
    done_codes: frozenset[str] = frozenset()
    symbol: str = "~"
    by_name: bool = False
    document: Callable[[Any, Any], tuple[str | None, str] | None] | None = None


_WRITES: dict[type[Action], Write] = {}


def write(action: type[A], reason: str, call: Callable[[Any, A, str | None], R], *,
          yields: Callable[[A, R], Applied] | None = None,
          explain: Callable[[A, AwsError], Blocked | None] | None = None,
          done_codes: frozenset[str] = frozenset(), symbol: str = "~", by_name: bool = False,
          document: Callable[[A, Any], tuple[str | None, str] | None] | None = None) -> Callable[[F], F]:
    """Register the decorated gateway method as the one that carries out ``action`` (see the module docstring)."""

    def register(method: F) -> F:
        if action in _WRITES:
            raise TypeError(f"{action.__name__} is registered twice: by {_WRITES[action].method} and "
                            f"{method.__qualname__}")
        owner = method.__qualname__.partition(".")[0]
        _WRITES[action] = Write(action, reason, call, owner, method.__qualname__, yields or _nothing, explain,
                                done_codes, symbol, by_name, document)
        return method

    return register


def registration(action: Action) -> Write:
    found = _WRITES.get(type(action))
    if found is None:  # a StatusStep (never sent here), or an action no gateway method registered
        raise TypeError(f"no gateway method is registered for {type(action).__name__}")
    return found


def registered(action: Action) -> bool:
    return type(action) in _WRITES


def registrations() -> tuple[Write, ...]:
    """Every write, once ``controller.aws.gateway`` (which imports the other gateways) is imported."""
    return tuple(_WRITES.values())
