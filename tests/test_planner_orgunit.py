"""Table-driven tests of the pure OrgUnit planner: each case says why the expected plan is right."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from controller.planner.actions import CreateOU, DeleteOU, Plan, RenameOU, TagResource, UntagResource
from controller.planner.orgunit import DesiredOU, plan_orgunit, plan_orgunit_delete
from controller.state import ObservedAccount, ObservedOU, OrgSnapshot

ROOT = "r-ab12"


def ou(ident: str, name: str, parent: str = ROOT) -> ObservedOU:
    return ObservedOU(ident, f"arn:aws:organizations::111111111111:ou/o-x/{ident}", name, parent)


def snap(*ous: ObservedOU, accounts: tuple[ObservedAccount, ...] = ()) -> OrgSnapshot:
    return OrgSnapshot(
        organization_id="o-x",
        management_account_id="111111111111",
        root_id=ROOT,
        root_arn="arn:aws:organizations::111111111111:root/o-x/r-ab12",
        ous={o.id: o for o in ous},
        accounts={a.id: a for a in accounts},
    )


PROD = ou("ou-ab12-11111111", "Production")
NONPROD = ou("ou-ab12-22222222", "Non-Production")
TEAM = ou("ou-ab12-33333333", "Team", parent=NONPROD.id)
DEEP = [ou("ou-ab12-d0000001", "L1")]
for i in range(2, 6):
    DEEP.append(ou(f"ou-ab12-d000000{i}", f"L{i}", parent=DEEP[-1].id))


@dataclass
class Case:
    reason: str
    desired: DesiredOU
    snapshot: OrgSnapshot
    known_id: str | None = None
    tags: dict[str, str] | None = None
    actions: list[object] = field(default_factory=list)
    blocked: str | None = None
    resource_id: str | None = None
    adopted: bool = False
    diff_fields: list[str] = field(default_factory=list)


def d(name: str = "Production", parent: str | None = None, **kw: object) -> DesiredOU:
    return DesiredOU(object_name="production", name=name, parent_id=parent, **kw)  # type: ignore[arg-type]


CASES = [
    Case("nothing in AWS: create the OU under the root with its tags",
         d(tags={"env": "prod"}), snap(), actions=[CreateOU(ROOT, "Production", {"env": "prod"})]),
    Case("aws: tags are AWS's own and are never sent",
         d(tags={"aws:x": "1", "a": "b"}), snap(), actions=[CreateOU(ROOT, "Production", {"a": "b"})]),
    Case("an OU with the same name under the same parent is adopted, not duplicated",
         d(), snap(PROD), resource_id=PROD.id, adopted=True),
    Case("an OU with the same name under another parent is not ours: create",
         d(name="Team"), snap(NONPROD, TEAM), actions=[CreateOU(ROOT, "Team", {})]),
    Case("recorded id still exists and matches: nothing to do",
         d(), snap(PROD), known_id=PROD.id, resource_id=PROD.id),
    Case("name changed in the spec (or in AWS): rename by id",
         d(name="Prod"), snap(PROD), known_id=PROD.id, resource_id=PROD.id,
         actions=[RenameOU(PROD.id, "Prod", "Production")], diff_fields=["name"]),
    Case("the recorded OU was deleted in AWS: recreate it and say it was missing",
         d(), snap(), known_id=PROD.id, actions=[CreateOU(ROOT, "Production", {})], diff_fields=["exists"]),
    Case("raw parentId that does not exist: refuse with the field named",
         d(parent="ou-ab12-99999999"), snap(), blocked="ParentNotFound"),
    Case("parent changed: AWS cannot move an OU, so refuse and touch nothing",
         d(parent=NONPROD.id), snap(PROD, NONPROD), known_id=PROD.id, blocked="ImmutableField",
         resource_id=PROD.id, diff_fields=["parentId"]),
    Case("tags differ: set changed keys and remove keys not in the spec",
         d(tags={"env": "prod", "team": "a"}), snap(PROD), known_id=PROD.id,
         tags={"env": "dev", "old": "x", "aws:cloudformation": "y"}, resource_id=PROD.id,
         actions=[TagResource(PROD.id, {"env": "prod", "team": "a"}), UntagResource(PROD.id, ("old",))],
         diff_fields=["tags.env", "tags.team", "tags.old"]),
    Case("tags not read this time: no tag actions (unknown is not different)",
         d(tags={"env": "prod"}), snap(PROD), known_id=PROD.id, tags=None, resource_id=PROD.id),
    Case("tags absent from the spec: AWS tags are left alone",
         d(tags=None), snap(PROD), known_id=PROD.id, tags={"x": "1"}, resource_id=PROD.id),
    Case("Observe: differences are reported, nothing is written",
         d(name="Prod", observe_only=True), snap(PROD), known_id=PROD.id, resource_id=PROD.id,
         diff_fields=["name"]),
    Case("Observe: a missing OU is never created",
         d(observe_only=True), snap(), blocked="NotFound"),
    Case("a sixth level of OUs is refused before calling AWS",
         d(name="L6", parent=DEEP[-1].id), snap(*DEEP), blocked="InvalidSpec"),
    Case("the fifth level is allowed",
         d(name="L5b", parent=DEEP[-2].id), snap(*DEEP), actions=[CreateOU(DEEP[-2].id, "L5b", {})]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_plan_orgunit(case: Case) -> None:
    plan: Plan = plan_orgunit(case.desired, case.snapshot, case.known_id, case.tags)
    assert list(plan.actions) == case.actions
    assert (plan.blocked.reason if plan.blocked else None) == case.blocked
    assert plan.resource_id == case.resource_id
    assert plan.adopted == case.adopted
    assert [x.field for x in plan.differences] == case.diff_fields


ACCT = ObservedAccount("222222222222", "arn:aws:organizations::111111111111:account/o-x/222222222222",
                       "Dev", "dev@example.com", "ACTIVE", PROD.id)


@pytest.mark.parametrize(
    ("reason", "snapshot", "known_id", "retain", "expected_actions", "blocked"),
    [
        ("empty OU with deletionPolicy Delete: delete it", snap(PROD), PROD.id, False,
         [DeleteOU(PROD.id, "Production")], None),
        ("Retain: leave it in AWS", snap(PROD), PROD.id, True, [], None),
        ("an OU holding an account is not deleted: AWS refuses, and we say why", snap(PROD, accounts=(ACCT,)),
         PROD.id, False, [], "OrgUnitNotEmpty"),
        ("an OU holding a child OU is not deleted", snap(NONPROD, TEAM), NONPROD.id, False, [], "OrgUnitNotEmpty"),
        ("already gone from AWS: nothing to do", snap(), PROD.id, False, [], None),
        ("never created: nothing to do", snap(PROD), None, False, [], None),
    ],
)
def test_plan_orgunit_delete(
    reason: str, snapshot: OrgSnapshot, known_id: str | None, retain: bool, expected_actions: list[object],
    blocked: str | None,
) -> None:
    plan = plan_orgunit_delete(known_id, snapshot, retain=retain)
    assert list(plan.actions) == expected_actions, reason
    assert (plan.blocked.reason if plan.blocked else None) == blocked, reason


def test_not_empty_message_names_the_children() -> None:
    plan = plan_orgunit_delete(PROD.id, snap(PROD, accounts=(ACCT,)), retain=False)
    assert plan.blocked is not None
    assert "Dev" in plan.blocked.message and "222222222222" in plan.blocked.message
