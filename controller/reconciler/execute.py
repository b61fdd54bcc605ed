"""One dispatch from a planned action to the gateway call that carries it out, for every kind.

``execute`` makes the call; ``explain`` turns the AWS error of a failed call into what a person reads in
``Synced`` (or None when the error means the action's goal already holds).  The gateway may be the real
one or the dry-run recorder of ``awsorg plan``: this code does not know which.

How a write is declared
-----------------------
Each AWS write is declared once, beside the gateway method that makes it, by the ``@write`` decorator of
``controller.aws.writes``: the planner's action type, the reason of its event, how the method is called with the
action, what it leaves (``Applied``: the id it created, status fields, a wait), how its AWS errors read
(``explain``, ``done_codes``) and how ``awsorg plan`` shows it. What it does to the snapshot is in the method.
Adding a write touches two files: the action (a frozen dataclass deriving from ``Action`` in
``controller/planner/actions.py``, with ``prerequisite`` or ``depends_on`` when the engine must order it) and the
gateway module (its method and registration). Nothing here, in the engine, the dry run or ``awsorg plan`` lists
action types; they all read the registration.
"""

from __future__ import annotations

from controller.api import limits
from controller.aws.errors import AwsError
from controller.aws.gateway import OrganizationsGateway
from controller.aws.member import AccountNotAccessible
from controller.aws.writes import Applied, registration
from controller.planner.actions import Action, Blocked
from controller.planner.scp_effects import blocked_message
from controller.reconciler.status import aws_failure

__all__ = ["Applied", "event_reason", "execute", "explain"]


def event_reason(action: Action) -> str:
    """The reason of the event an action posts when it happens (its registration's)."""
    return registration(action).reason


def execute(gw: OrganizationsGateway, action: Action, created: str | None = None) -> Applied:
    """Carry out one action. ``created``: the id of the resource an earlier action of the plan created."""
    write = registration(action)  # a StatusStep: TypeError (the engine never sends one here)
    result = write.call(gw.part(write.gateway, type(action).__name__), action, created)
    return write.yields(action, result)


def blocked_by_policy(action: Action, exc: AwsError) -> Blocked | None:
    """A write in a member account an SCP/RCP denied: BlockedByPolicy (a person must change the policy: looked at
    again at the resync interval, not backed off)."""
    account_id = getattr(action, "account_id", "") or ""
    message = blocked_message(account_id, f"{exc.operation}: {exc.code}: {exc.aws_message}")
    return None if message is None else Blocked("BlockedByPolicy", f"{action.describe()}: {message}", slow=True)


def explain(action: Action, exc: AwsError) -> Blocked | None:
    """The failure a person reads for a failed action; None when the error means it is done already."""
    if isinstance(exc, AccountNotAccessible):
        return Blocked("WaitingForAccountAccess", f"{action.describe()}: the role the operator assumes there is "
                       f"not assumable ({exc.code}: {exc.aws_message}); tried again on the next resync")
    blocked = blocked_by_policy(action, exc)
    if blocked is not None:
        return blocked
    write = registration(action)
    if exc.code in write.done_codes:
        return None
    found = write.explain(action, exc) if write.explain is not None else None
    if found is not None:
        return found
    hint = limits.refusal_hint(exc.reason, getattr(action, "policy_type", None)) if (
        exc.code == "ConstraintViolationException") else None
    if hint is not None:
        return Blocked("LimitExceeded", f"{action.describe()}: AWS refuses ({exc.reason}: {exc.aws_message}); {hint}")
    return aws_failure(exc)
