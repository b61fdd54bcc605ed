"""``Adapter.after``: the observation brought up to date with what a reconcile's writes left, from what the engine
hands it (``Done`` and ``Knowledge``) and nothing else: no context, no gateway, no AWS. Table-driven; each case
says why. The adapters are given no gateway here at all, so one that reached for one would fail."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest

from controller import metrics
from controller.aws.gateway import Knowledge
from controller.planner.access_role import Verdict
from controller.planner.account import AccountRecord, CreationView, DesiredAccount
from controller.planner.central_logging import DesiredLogging, ObservedLogging
from controller.planner.organization import DesiredAdmin, DesiredOrganization, ObservedOrganization
from controller.reconciler.account import AwsAccountAdapter, ObservedAccountState
from controller.reconciler.engine import Done
from controller.reconciler.kinds import ADAPTERS
from controller.reconciler.organization import ObservedOrganizationState, OrganizationAdapter
from controller.reconciler.status import fields_of
from controller.state import MemberAccess, MemberConfig, ObservedTrail
from tests.test_engine_core import MGMT, ROLE, A, B, role_in, snapshot

MEMBER_ROLE = "OrganizationAccountAccessRole"
TRAIL = ObservedTrail("org-trail", "arn:trail", "logs", True, True, True, True)
LOGGING = DesiredLogging(A, "logs", trail="org-trail", regions=())


@dataclass(frozen=True)
class Case:
    why: str
    observed: dict[str, MemberAccess | None]
    known: Knowledge
    access: dict[str, MemberAccess | None] | None  # what after() says each member account holds
    trusted: frozenset[str] | None = None
    logging: DesiredLogging | None = None
    trail: ObservedTrail | None = None
    condition: str = "Compliant"
    admins: dict[str, frozenset[str]] = field(default_factory=dict)


CASES = [
    Case("a role the reconcile created is what the gateway's write left: the account is compliant now",
         {A: MemberAccess(A)}, Knowledge(snapshot(A), member_role=MEMBER_ROLE, access={A: role_in(A)}),
         {A: role_in(A)}),
    Case("an account that joined during the reconcile is in the new snapshot, with what is known of it (nothing "
         "yet: pending)",
         {A: role_in(A)}, Knowledge(snapshot(A, B), member_role=MEMBER_ROLE, access={A: role_in(A)}),
         {A: role_in(A), B: None}, condition="WaitingForAccountAccess"),
    Case("no member accounts configured: no access is observed, whatever the observation had",
         {A: role_in(A)}, Knowledge(snapshot(A)), None, condition=""),
    Case("trusted access and delegated administrators as the writes left them",
         {A: role_in(A)}, Knowledge(snapshot(A), frozenset({"config.amazonaws.com"}),
                                    {"config.amazonaws.com": frozenset({A})}, MEMBER_ROLE, {A: role_in(A)}),
         {A: role_in(A)}, trusted=frozenset({"config.amazonaws.com"}),
         admins={"config.amazonaws.com": frozenset({A})}),
    Case("the trail the reconcile created is the one the gateway's write left",
         {A: role_in(A)}, Knowledge(snapshot(A), member_role=MEMBER_ROLE, access={A: role_in(A)}, logging=True,
                                    trails={("us-east-1", "org-trail"): TRAIL}),
         {A: role_in(A)}, logging=LOGGING, trail=TRAIL),
    Case("central logging not configured in the gateways: logging is not observed (and not reported)",
         {A: role_in(A)}, Knowledge(snapshot(A), member_role=MEMBER_ROLE, access={A: role_in(A)},
                                    config={A: MemberConfig(A)}),
         {A: role_in(A)}, logging=LOGGING),
]


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_organization_after_reads_only_what_it_is_handed(case: Case) -> None:
    desired = DesiredOrganization("organization", access_role=ROLE, logging=case.logging,
                                  admins=tuple(DesiredAdmin(A, p, "spec") for p in case.admins))
    before = ObservedOrganization(snapshot(A), trusted=frozenset(), admins={}, access=case.observed,
                                  member_role=MEMBER_ROLE, logging=ObservedLogging("o-x", MGMT))
    after = OrganizationAdapter().after(desired, ObservedOrganizationState(before), Done("o-x"), case.known)
    assert after.org.snapshot is case.known.snapshot
    assert after.org.access == case.access
    assert after.org.trusted == case.trusted
    assert after.org.admins == case.admins
    assert (after.org.logging is not None) == case.known.logging
    if case.known.logging:
        assert after.org.logging is not None and after.org.logging.trail == case.trail
    report = OrganizationAdapter().report(desired, after, Done("o-x"))
    assert [c[2] for c in report.conditions] == ([case.condition] if case.condition else [])


def test_the_account_sees_the_new_snapshot_and_the_verdict_it_observed() -> None:
    """The account's ``after`` takes the snapshot the writes left (its new parent); the Organization's verdict is
    what it observed (read from the board in ``observe``), not read again."""
    desired = DesiredAccount("acct", "Acct", f"{A}@x.io", None)
    verdict = {A: Verdict(A, "compliant", "Compliant", "")}
    observed = ObservedAccountState(snapshot(), AccountRecord(id=A), CreationView(), None, verdict)
    after = AwsAccountAdapter().after(desired, observed, Done(A), Knowledge(snapshot(A)))
    assert after.baseline is verdict and A in after.snapshot.accounts
    report = AwsAccountAdapter().report(desired, after, Done(A))
    assert fields_of(report.status)["parentId"] == "r-ab12"
    assert [c[:2] for c in report.conditions] == [("Baselined", True)]


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_no_adapter_after_takes_a_context(kind: str) -> None:
    """after(desired, observed, done, known): what the engine hands it, no Context (gateway, board, due)."""
    assert list(inspect.signature(type(ADAPTERS[kind]).after).parameters) == [  # type: ignore[attr-defined]
        "self", "desired", "observed", "done", "known"]


def test_report_writes_no_metric() -> None:
    """An adapter's report returns the gauges it owns as data; the engine writes them. Reporting changes no
    sample of the operator's registry (nor, being pure, anything else)."""
    def samples() -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                      for m in metrics.REGISTRY.collect() for s in m.samples)

    trail = "a-trail-only-this-test-names"  # a series no other test sets: a write here would add it
    desired = DesiredOrganization("organization", access_role=ROLE, logging=DesiredLogging(A, "logs", trail=trail,
                                                                                           regions=()))
    org = ObservedOrganization(snapshot(A), trusted=frozenset(), admins={}, access={A: role_in(A)},
                               member_role=MEMBER_ROLE, logging=ObservedLogging("o-x", MGMT, trail=TRAIL))
    before = samples()
    report = OrganizationAdapter().report(desired, ObservedOrganizationState(org), Done("o-x"))
    assert report.gauges and dict(report.gauges[0][1]) == {(trail,): 1}  # the trail's gauge, as data
    assert samples() == before
