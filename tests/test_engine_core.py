"""Table-driven tests of the engine core: status building, drift filtering, the due rule of spread reads, and
facts that cross kinds (the Organization's baseline verdicts -> each AwsAccount's ``Baselined``) through the
engine's board. Each case says why its expectation is right. No AWS, no Kubernetes: these rules are pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from controller.planner.access_role import DesiredAccessRole, Verdict
from controller.planner.account import AccountRecord, CreationView, DesiredAccount
from controller.planner.actions import Blocked, Difference, MoveAccount, Plan, TagResource
from controller.planner.central_logging import DesiredLogging, ObservedLogging
from controller.planner.organization import DesiredOrganization, ObservedOrganization
from controller.reconciler.account import BASELINE, AwsAccountAdapter, ObservedAccountState
from controller.reconciler.base import Board, ObjectView
from controller.reconciler.engine import TAGS, Context, Done
from controller.reconciler.inventory import Inventory
from controller.reconciler.organization import ObservedOrganizationState, OrganizationAdapter
from controller.reconciler.status import StatusBuilder, binding_of, fields_of
from controller.settings import Settings
from controller.state import MemberAccess, ObservedAccount, ObservedRole, ObservedTrail, OrgSnapshot

MGMT, A, B, C = "111111111111", "222222222222", "333333333333", "444444444444"
GEN = 3
SYNCED = {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "message": "",
          "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": GEN}
DIFF = Difference("parentId", "ou-aaaa-11111111", "r-ab12")
MOVE = MoveAccount(A, "r-ab12", "ou-aaaa-11111111")
TAG = TagResource(A, {"team": "x"})


def view(*, applied: bool = True, status: dict[str, Any] | None = None) -> ObjectView:
    """An object whose current generation was synced once (``applied``: differences now are drift) or not yet."""
    base = {"observedGeneration": GEN, "conditions": [SYNCED if applied else {**SYNCED, "observedGeneration": 1}]}
    return ObjectView("AwsAccount", "acct", GEN, {}, {**base, **(status or {})}, trigger="resync")


# ------------------------------------------------------------------------------------------- drift filtering


@dataclass(frozen=True)
class DriftCase:
    reason: str
    plan: Plan
    applied: bool = True
    observe_only: bool = False
    policy: Literal["correct", "report"] = "correct"
    allowed: tuple[Any, ...] = ()
    drift: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


DRIFT_CASES = [
    DriftCase("nothing differs: the plan's new work is carried out, no drift recorded",
              Plan(actions=(TAG,)), allowed=(TAG,)),
    DriftCase("a difference before this generation was ever synced is the spec not yet carried out, not drift",
              Plan(actions=(MOVE,), differences=(DIFF,)), applied=False, allowed=(MOVE,)),
    DriftCase("drift under AWSORG_DRIFT_POLICY=correct: corrected, recorded and announced once",
              Plan(actions=(MOVE,), differences=(DIFF,)), allowed=(MOVE,), drift=("parentId",),
              events=("DriftDetected",)),
    DriftCase("drift under report: the correction is dropped, new work of the same plan still done",
              Plan(actions=(MOVE, TAG), differences=(DIFF,), fresh=(TAG,)), policy="report", allowed=(TAG,),
              drift=("parentId",), events=("DriftDetected",)),
    DriftCase("managementPolicy Observe: nothing is ever carried out, and a difference is drift at once",
              Plan(actions=(MOVE,), differences=(DIFF,)), applied=False, observe_only=True, drift=("parentId",),
              events=("DriftDetected",)),
    DriftCase("Observe and nothing differs: still nothing carried out (not even new work)",
              Plan(actions=(TAG,)), observe_only=True),
]


@pytest.mark.parametrize("case", DRIFT_CASES, ids=[c.reason for c in DRIFT_CASES])
def test_filter_drift(case: DriftCase) -> None:
    st = StatusBuilder("AwsAccount", view(applied=case.applied), Settings(drift_policy=case.policy),
                       observe_only=case.observe_only)
    assert st.filter_drift(case.plan) == case.allowed
    assert tuple(d["field"] for d in st.status["drift"]) == case.drift
    assert tuple(e.reason for e in st.events) == case.events


def test_drift_already_reported_is_not_announced_again() -> None:
    """A Drifted condition already True: the resync that sees the same drift posts no second event."""
    drifted = {"type": "Drifted", "status": "True", "reason": "DriftDetected", "message": "",
               "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": GEN}
    obj = view()
    obj = ObjectView(obj.kind, obj.name, GEN, {}, {**obj.status, "conditions": [SYNCED, drifted]})
    st = StatusBuilder("AwsAccount", obj, Settings(drift_policy="report"))
    st.filter_drift(Plan(actions=(MOVE,), differences=(DIFF,)))
    assert st.events == []


# ------------------------------------------------------------------------------------------- status building


@dataclass(frozen=True)
class SyncedCase:
    reason: str
    plan: Plan
    policy: Literal["correct", "report"] = "correct"
    observe_only: bool = False
    ready: tuple[str, str] = ("True", "Available")
    drifted: tuple[str, str] = ("False", "InSync")
    events: tuple[str, ...] = ()


SYNCED_CASES = [
    SyncedCase("in sync: Ready, not Drifted", Plan()),
    SyncedCase("drift corrected: Ready again, Drifted False with reason Corrected, both events",
               Plan(actions=(MOVE,), differences=(DIFF,)), drifted=("False", "Corrected"),
               events=("DriftDetected", "DriftCorrected")),
    SyncedCase("drift reported: not Ready (reason Drifted), Drifted True", Plan(actions=(MOVE,), differences=(DIFF,)),
               policy="report", ready=("False", "Drifted"), drifted=("True", "DriftDetected"),
               events=("DriftDetected",)),
    SyncedCase("Observe: drift reported, the message says why it is not corrected",
               Plan(actions=(MOVE,), differences=(DIFF,)), observe_only=True, ready=("False", "Drifted"),
               drifted=("True", "DriftDetected"), events=("DriftDetected",)),
]


@pytest.mark.parametrize("case", SYNCED_CASES, ids=[c.reason for c in SYNCED_CASES])
def test_synced_outcome(case: SyncedCase) -> None:
    st = StatusBuilder("AwsAccount", view(), Settings(drift_policy=case.policy), observe_only=case.observe_only)
    st.filter_drift(case.plan)
    outcome = st.synced({"id": A})
    conditions = {c["type"]: c for c in outcome.status["conditions"]}
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == case.ready
    assert (conditions["Drifted"]["status"], conditions["Drifted"]["reason"]) == case.drifted
    assert conditions["Synced"]["status"] == "True"
    assert [e.reason for e in outcome.events] == list(case.events)
    assert outcome.status["id"] == A and outcome.result == "success" and outcome.requeue_after is None
    if case.observe_only:
        assert "managementPolicy Observe" in conditions["Drifted"]["message"]


@dataclass(frozen=True)
class RefusedCase:
    reason: str
    blocked: Blocked
    result: str
    requeue: float | None
    event: str = "Warning"


SETTINGS = Settings(wait_seconds=10.0, resync_seconds=300.0)
REFUSED_CASES = [
    RefusedCase("a wait (a reference not Ready) is looked at again soon, not an error",
                Blocked("WaitingForReference", "waiting"), "waiting", SETTINGS.wait_seconds),
    RefusedCase("a creation in progress is a Normal event, not a warning",
                Blocked("CreationInProgress", "in progress"), "waiting", SETTINGS.wait_seconds, "Normal"),
    RefusedCase("a refusal that may pass (a parent not found yet) backs off",
                Blocked("ParentNotFound", "no parent"), "error", SETTINGS.backoff(0)),
    RefusedCase("a refusal only a spec change can lift is not retried",
                Blocked("ImmutableField", "immutable", retry=False), "error", None),
    RefusedCase("a person must act first (a quota): looked at again at the resync interval, not before",
                Blocked("LimitExceeded", "quota", slow=True), "error", SETTINGS.resync_seconds),
]


@pytest.mark.parametrize("case", REFUSED_CASES, ids=[c.reason for c in REFUSED_CASES])
def test_refused_outcome(case: RefusedCase) -> None:
    outcome = StatusBuilder("AwsAccount", view(), SETTINGS).refused(case.blocked)
    conditions = {c["type"]: c for c in outcome.status["conditions"]}
    assert (outcome.result, outcome.requeue_after) == (case.result, case.requeue)
    assert conditions["Synced"]["reason"] == conditions["Ready"]["reason"] == case.blocked.reason
    assert [(e.type, e.reason) for e in outcome.events] == [(case.event, case.blocked.reason)]


def test_a_reconcile_that_finds_nothing_new_leaves_the_status_as_it_was() -> None:
    """lastSyncTime moves only when the status changes: a quiet resync writes nothing to the API server."""
    first = StatusBuilder("AwsAccount", view(), SETTINGS).synced({"id": A})
    again = ObjectView("AwsAccount", "acct", GEN, {}, first.status, trigger="resync")
    second = StatusBuilder("AwsAccount", again, SETTINGS).synced({"id": A})
    assert second.status == first.status and second.events == []
    changed = StatusBuilder("AwsAccount", again, SETTINGS).synced({"id": A, "state": "SUSPENDED"})
    assert changed.status["state"] == "SUSPENDED"


@pytest.mark.parametrize(("status", "bound", "reason"), [
    ({"id": A, "createAccountRequestId": "car-1", "creationStartedAt": "2026-01-01T00:00:00Z"},
     (A, "car-1", "2026-01-01T00:00:00Z"), "every binding field read through the typed status model"),
    ({"id": A, "arn": "arn:x", "conditions": []}, (A, None, None), "other status fields are no binding"),
    ({"id": 12}, (None, None, None), "a status written by hand with an id of the wrong type binds nothing"),
])
def test_binding_of(status: dict[str, Any], bound: tuple[Any, ...], reason: str) -> None:
    read = binding_of(status)
    assert (read.id, read.create_account_request_id, read.creation_started_at) == bound, reason


def test_status_fields_are_the_typed_models_fields_that_were_set() -> None:
    """Fields set (None included: it removes the field) are written by their Kubernetes names; unset ones not."""
    from controller.api.models import OrganizationStatus

    status = OrganizationStatus(id="o-x", all_features_handshake_id=None)
    assert fields_of(status) == {"id": "o-x", "allFeaturesHandshakeId": None}
    assert fields_of(None) == {}


# ------------------------------------------------------------------------------------------- the due rule


@dataclass(frozen=True)
class DueCase:
    reason: str
    read: str
    key: str
    epoch: int
    trigger: Literal["change", "resync", "event"] = "resync"
    settled: bool = True
    due: bool = False
    read_at: int | None = None  # the resync epoch at which the same read of the key was last made


DUE_CASES = [
    DueCase("a member account's read is due in its turn (its id modulo 10)", "accessRole", A, epoch=2, due=True),
    DueCase("a key never read is not read outside its turn", "accessRole", A, epoch=3),
    DueCase("read in its turn, not again in the next resyncs", "accessRole", A, epoch=11, read_at=2),
    DueCase("read again in its next turn", "accessRole", A, epoch=12, read_at=2, due=True),
    DueCase("a resync that missed the turn (a slow reconcile) is followed by the read at the next resync, not a "
            "cycle later", "accessRole", A, epoch=13, read_at=2, due=True),
    DueCase("a read made for another reason (a spec change at 5) counts: next at the turn after it", "accessRole", A,
            epoch=12, read_at=5, due=True),
    DueCase("an account not as declared is read every resync", "accessRole", A, epoch=3, read_at=2, settled=False,
            due=True),
    DueCase("an AWS event about the object reads everything now", "config", A, epoch=3, trigger="event", due=True),
    DueCase("a spec change reads everything now", TAGS, "b", epoch=5, trigger="change", due=True),
    DueCase("an object's tags: its turn is its rank among the kind's objects that declare tags ('b': 1)", TAGS,
            "b", epoch=11, due=True),
    DueCase("another rank, another resync", TAGS, "c", epoch=11),
]


@pytest.mark.parametrize("case", DUE_CASES, ids=[c.reason for c in DUE_CASES])
def test_due(case: DueCase) -> None:
    inventory = Inventory()
    for name in ("a", "b", "c"):
        inventory.record("OrgUnit", name, None, declares_tags=True)
    settings = Settings(resync_seconds=300.0)
    ctx = Context(None, settings, inventory, clock=lambda: case.epoch * 300.0 + 1, kind="OrgUnit")  # type: ignore[arg-type]
    obj = ObjectView("OrgUnit", "x", 1, {}, {"observedGeneration": 1}, trigger=case.trigger)
    if case.read_at is not None:
        assert inventory.claim_tag_read(f"OrgUnit/{case.read}", case.key, case.read_at, 0, forced=True)
    assert ctx.due(case.read, case.key, obj, settled=case.settled) is case.due
    if case.due and case.trigger == "resync" and case.settled:
        assert ctx.due(case.read, case.key, obj) is False, "once per resync, however often the timer fires"


# ------------------------------------------------------------------------- facts that cross kinds (the board)


def test_board_publish_read_withdraw() -> None:
    board = Board()
    assert board.read(BASELINE) is None  # not spoken since start: readers keep what they have
    ok, failed = Verdict(A, "compliant", "Compliant"), Verdict(B, "failed", "AccessRoleMissing")
    assert board.publish(BASELINE, "Organization/organization", "AwsAccount", {A: ok, B: failed}) == {
        ("AwsAccount", A), ("AwsAccount", B)}
    assert board.publish(BASELINE, "Organization/organization", "AwsAccount", {A: ok}) == {("AwsAccount", B)}
    assert board.withdraw("Organization/other") == frozenset()  # another publisher's deletion withdraws nothing
    assert board.withdraw("Organization/organization") == {("AwsAccount", A)}
    assert board.read(BASELINE) == {}  # spoken: no verdict for anyone
    assert board.take_changed() == {("AwsAccount", A), ("AwsAccount", B)}
    assert board.take_changed() == set()


def snapshot(*member_ids: str) -> OrgSnapshot:
    accounts = {i: ObservedAccount(i, f"arn:{i}", i, f"{i}@x.io", "ACTIVE", "r-ab12") for i in (MGMT, *member_ids)}
    return OrgSnapshot("o-x", MGMT, "r-ab12", "arn:root", accounts=accounts, organization_arn="arn:org")


ROLE = DesiredAccessRole("Audit", ("arn:aws:iam::111111111111:root",))


def role_in(account_id: str, *, trusted: str = "arn:aws:iam::111111111111:root") -> MemberAccess:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": [trusted]},
                                                      "Action": "sts:AssumeRole"}]}
    return MemberAccess(account_id, ObservedRole(account_id, "Audit", f"arn:{account_id}:role/Audit", trust))


@dataclass(frozen=True)
class OrgCase:
    reason: str
    access: dict[str, MemberAccess | None]
    baselined_before: frozenset[str] = frozenset()
    logging: ObservedLogging | None = None
    want_logging: DesiredLogging | None = None
    condition: tuple[str, str] = ("True", "Compliant")
    baselined: tuple[str, ...] = ()
    verdicts: dict[str, str] = field(default_factory=dict)


ORG_CASES = [
    OrgCase("every member account holds the role: Compliant, and each is remembered as baselined",
            {A: role_in(A), B: role_in(B)}, baselined=(A, B), verdicts={A: "compliant", B: "compliant"}),
    OrgCase("a role gone from an account that had its baseline: failed, and it is still remembered (drift)",
            {A: role_in(A), B: MemberAccess(B)}, baselined_before=frozenset({B}), condition=("False", "BaselineFailed"),
            baselined=(A, B), verdicts={A: "compliant", B: "failed"}),
    OrgCase("an account not reachable yet is pending; a remembered account that left the organization is forgotten",
            {A: MemberAccess(A, error="AccessDenied", waiting=True)}, baselined_before=frozenset({C}),
            condition=("False", "WaitingForAccountAccess"), verdicts={A: "pending"}),
    OrgCase("the log archive account not assumable: the Baseline condition says so first",
            {A: role_in(A)}, logging=ObservedLogging("o-x", MGMT, archive_error="AssumeRole refused",
                                                      archive_waiting=True, trail=None),
            want_logging=DesiredLogging(A, "logs", regions=()), condition=("False", "WaitingForAccountAccess"),
            baselined=(A,), verdicts={A: "compliant"}),
    OrgCase("the organization trail not logging",
            {A: role_in(A)}, logging=ObservedLogging("o-x", MGMT, trail=ObservedTrail(
                "organization-trail", "arn:trail", "logs", True, True, True, False)),
            want_logging=DesiredLogging(A, "logs", regions=()), condition=("False", "TrailNotLogging"),
            baselined=(A,), verdicts={A: "compliant"}),
]


@pytest.mark.parametrize("case", ORG_CASES, ids=[c.reason for c in ORG_CASES])
def test_organization_report_and_the_accounts_baselined_condition(case: OrgCase) -> None:
    """The Organization's report (pure: from what it observed) publishes each member account's verdict; each
    AwsAccount's report reads it from the board as its Baselined condition."""
    members = tuple(sorted(case.access))
    org = ObservedOrganization(snapshot(*members), trusted=frozenset(), admins={}, access=case.access,
                               member_role="OrganizationAccountAccessRole", logging=case.logging)
    desired = DesiredOrganization("organization", access_role=ROLE, logging=case.want_logging)
    report = OrganizationAdapter().report(desired, ObservedOrganizationState(org, case.baselined_before), Done("o-x"))
    status = fields_of(report.status)
    assert [(c[0], "True" if c[1] else "False", c[2]) for c in report.conditions] == [("Baseline", *case.condition)]
    assert status["baseline"]["baselinedAccounts"] == list(case.baselined)
    assert status["baseline"]["accounts"] == len(case.verdicts)

    board = Board()
    topic, (about, facts) = next(iter(report.publish.items()))
    board.publish(topic, "Organization/organization", about, facts)
    assert {a: v.state for a, v in facts.items()} == case.verdicts
    for account_id, state in case.verdicts.items():
        account = account_report(account_id, board)
        assert [(c[0], c[1]) for c in account.conditions] == [("Baselined", state == "compliant")]
        assert not account.stale


def account_report(account_id: str, board: Board) -> Any:
    desired = DesiredAccount("acct", "Acct", f"{account_id}@x.io", None)
    observed = ObservedAccountState(snapshot(account_id), AccountRecord(id=account_id), CreationView(), None,
                                    board.read(BASELINE))
    return AwsAccountAdapter().report(desired, observed, Done(account_id))


@pytest.mark.parametrize(("published", "conditions", "stale", "reason"), [
    (None, [], [], "the Organization has not spoken since start: the account keeps the Baselined it has"),
    ({}, [], ["Baselined"], "it has spoken and has no verdict for this account (accessRole removed): Baselined goes"),
    ({A: Verdict(A, "failed", "AccessRoleMissing", "role 'Audit' does not exist")},
     [("Baselined", False, "AccessRoleMissing", "role 'Audit' does not exist")], [], "its verdict, word for word"),
])
def test_account_baselined_from_the_board(published: dict[str, Verdict] | None, conditions: list[Any],
                                          stale: list[str], reason: str) -> None:
    board = Board()
    if published is not None:
        board.publish(BASELINE, "Organization/organization", "AwsAccount", published)
    report = account_report(A, board)
    assert (list(report.conditions), list(report.stale)) == (conditions, stale), reason
    assert fields_of(report.status)["id"] == A


class _NoRefs:
    def get(self, kind: str, name: str) -> Any:
        from controller.reconciler.base import RefState

        return RefState(exists=False)

    def claims(self, kind: str, key: str) -> list[Any]:
        return []

    def claim_keys(self, kind: str) -> list[str]:
        return []


@pytest.mark.parametrize(("name", "left", "reason"), [
    ("organization", {}, "the publisher deleted: its verdicts hold no more, so every account's Baselined goes"),
    ("second", {A: "compliant"}, "another object's deletion (a refused second Organization) withdraws nothing"),
])
def test_a_deleted_publisher_withdraws_what_it_published(name: str, left: dict[str, str], reason: str) -> None:
    from controller.reconciler.engine import Engine

    board = Board()
    board.publish(BASELINE, "Organization/organization", "AwsAccount", {A: Verdict(A, "compliant", "Compliant")})
    engine = Engine(OrganizationAdapter(), None, _NoRefs(), board=board)  # type: ignore[arg-type]
    # An invalid spec was never acted on: deleting it calls no AWS (the gateway is never reached).
    outcome = engine.delete(ObjectView("Organization", name, 1, {"unknownField": 1}, {"id": "o-x"}, trigger="delete"))
    assert outcome.done
    assert {a: v.state for a, v in (board.read(BASELINE) or {}).items()} == left, reason
