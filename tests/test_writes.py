"""One registration per AWS write (controller/aws/writes.py), and nothing else lists the writes (issue 18).

- every action the planner can ask for is registered once, by a method of the gateway class it names;
- no module outside the planner and the registering gateway modules names an action type (the engine, execute,
  the dry run, ``awsorg plan``, the handlers: they read the registration);
- the dry run carries out every registered write with the operator's own method: its recording gateways override
  none of them but to wrap the same method (``super()``), so ``awsorg plan`` is the same engine, never a second
  model of the writes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import controller.planner.actions as actions
from controller.aws import dryrun
from controller.aws.central_logging import CentralLoggingGateway
from controller.aws.gateway import OrganizationsGateway
from controller.aws.member import MemberAccounts
from controller.aws.writes import Applied, registration, registrations, write

ROOT = Path(__file__).resolve().parents[1] / "controller"
GATEWAYS = {c.__name__: c for c in (OrganizationsGateway, CentralLoggingGateway, MemberAccounts)}
ACTION_TYPES = sorted((c for _, c in inspect.getmembers(actions, inspect.isclass)
                       if issubclass(c, actions.Action) and c.__module__ == actions.__name__
                       and not issubclass(c, actions.StatusStep) and not c.__name__.startswith("_")
                       and c is not actions.Action), key=lambda c: c.__name__)
#: Where action types may be named: their definitions and the planners that plan them, and the gateway modules
#: that register them beside their methods.
ALLOWED = ("planner/", "aws/gateway.py", "aws/central_logging.py", "aws/member.py", "sandbox/")


@pytest.mark.parametrize("action", ACTION_TYPES, ids=lambda c: c.__name__)
def test_each_action_is_registered_once_by_a_gateway_method(action: type[actions.Action]) -> None:
    found = [w for w in registrations() if w.action is action]
    assert len(found) == 1, f"{action.__name__}: {len(found)} registrations"
    method = found[0].method.split(".")[-1]
    assert callable(getattr(GATEWAYS[found[0].gateway], method, None)), found[0]


def test_a_second_registration_is_refused() -> None:
    with pytest.raises(TypeError, match="registered twice"):
        write(actions.CreateOU, "Created", lambda gw, a, _: None)(lambda self: None)


def test_no_action_type_is_named_outside_its_definition_and_its_registration() -> None:
    names = {c.__name__ for c in ACTION_TYPES}
    named: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if where.startswith(ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            name = node.id if isinstance(node, ast.Name) else node.name if isinstance(node, ast.alias) else None
            if name in names:
                named.append(f"{where}:{getattr(node, 'lineno', 0)}: {name}")
    assert not named, named


def test_the_dry_run_carries_out_each_write_with_the_operators_method() -> None:
    recorders = {OrganizationsGateway: dryrun.RecordingGateway, CentralLoggingGateway: dryrun.RecordingCentralLogging,
                 MemberAccounts: dryrun.RecordingMembers}
    replaced = []
    for w in registrations():
        base = GATEWAYS[w.gateway]
        method = w.method.split(".")[-1]
        own = vars(recorders[base]).get(method)
        if own is not None and "super()" not in inspect.getsource(own):
            replaced.append(f"{recorders[base].__name__}.{method}")
    assert not replaced, f"the dry run models these writes itself: {replaced}"


def test_an_unregistered_action_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(TypeError, match="no gateway method is registered"):
        registration(actions.RecordCreationIntent("a", "a@example.com"))
    assert Applied().happened
