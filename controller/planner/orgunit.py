"""Plan an OrgUnit: desired spec + observed organization -> actions. Pure: no I/O, no AWS, no kopf."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.api import limits
from controller.planner.actions import Action, Blocked, CreateOU, DeleteOU, Difference, Plan, RenameOU
from controller.planner.tags import is_aws_reserved, plan_tags
from controller.state import OrgSnapshot

MAX_OU_DEPTH = limits.MAX_OU_DEPTH


def within_depth(levels: int) -> bool:
    """Whether AWS allows an OU ``levels`` levels below the root (1: directly under the root)."""
    return levels <= MAX_OU_DEPTH


@dataclass(frozen=True)
class DesiredOU:
    """The spec, with the parent reference already resolved by the caller (the engine waits for a parent
    object that is not Ready yet). ``parent_id`` None: the root."""

    object_name: str
    name: str
    parent_id: str | None
    tags: Mapping[str, str] | None = None
    observe_only: bool = False


def plan_orgunit(
    desired: DesiredOU,
    snapshot: OrgSnapshot,
    known_id: str | None,
    actual_tags: Mapping[str, str] | None = None,
) -> Plan:
    """Plan one OrgUnit.

    ``known_id``: the OU id recorded in status (None before the first successful sync).
    ``actual_tags``: the OU's tags as last read, or None when they were not read this time.
    """
    parent_id = desired.parent_id or snapshot.root_id
    if not snapshot.exists(parent_id):
        return Plan(
            blocked=Blocked(
                "ParentNotFound", f"spec.parentId: parent {parent_id} does not exist in the organization"
            ),
            resource_id=known_id,
        )

    current = snapshot.ous.get(known_id) if known_id else None
    adopted = False
    if current is None:
        # Never synced, or deleted in AWS since: adopt an OU of the same name under the parent.
        current = snapshot.ou_named(parent_id, desired.name)
        adopted = current is not None

    if current is None:
        return _plan_missing(desired, snapshot, parent_id, known_id)

    if current.parent_id != parent_id:
        return Plan(
            blocked=Blocked(
                "ImmutableField",
                f"spec.parentRef/parentId: the OU {current.id} is under {current.parent_id} and AWS cannot move "
                f"an OU; to move it, create a new OrgUnit under {parent_id} and move its accounts",
                retry=False,
            ),
            resource_id=current.id,
            differences=(Difference("parentId", parent_id, current.parent_id),),
        )

    actions: list[Action] = []
    diffs: list[Difference] = []
    if current.name != desired.name:
        diffs.append(Difference("name", desired.name, current.name))
        actions.append(RenameOU(current.id, desired.name, current.name))
    tag_actions, tag_diffs = plan_tags(current.id, desired.tags, actual_tags)
    actions += tag_actions
    diffs += tag_diffs
    if desired.observe_only:
        actions = []
    return Plan(actions=tuple(actions), differences=tuple(diffs), resource_id=current.id, adopted=adopted)


def _plan_missing(desired: DesiredOU, snapshot: OrgSnapshot, parent_id: str, known_id: str | None) -> Plan:
    diffs: tuple[Difference, ...] = ()
    if known_id is not None:
        diffs = (Difference("exists", "true", "false"),)
    if desired.observe_only:
        return Plan(
            blocked=Blocked(
                "NotFound",
                f"managementPolicy Observe: no OU named {desired.name!r} under {parent_id}; nothing is created",
            ),
            differences=diffs,
        )
    if not within_depth(snapshot.depth(parent_id) + 1):
        return Plan(
            blocked=Blocked(
                "InvalidSpec",
                f"spec.parentRef: OU {desired.name!r} would be nested {snapshot.depth(parent_id) + 1} levels "
                f"deep; AWS allows at most {MAX_OU_DEPTH} levels of OUs under the root",
                retry=False,
            ),
            differences=diffs,
        )
    tags = {k: v for k, v in (desired.tags or {}).items() if not is_aws_reserved(k)}
    return Plan(actions=(CreateOU(parent_id, desired.name, tags),), differences=diffs)


def plan_orgunit_delete(known_id: str | None, snapshot: OrgSnapshot, *, retain: bool) -> Plan:
    """Plan the deletion of an OrgUnit object's OU (``retain``: deletionPolicy Retain or Observe)."""
    if retain or known_id is None or known_id not in snapshot.ous:
        return Plan(resource_id=known_id)
    ou = snapshot.ous[known_id]
    children = [f"OU {c.name!r}" for c in snapshot.child_ous(known_id)]
    children += [f"account {a.name!r} ({a.id})" for a in snapshot.child_accounts(known_id)]
    if children:
        shown = ", ".join(children[:5]) + (f" and {len(children) - 5} more" if len(children) > 5 else "")
        return Plan(
            blocked=Blocked(
                "OrgUnitNotEmpty",
                f"OU {ou.name!r} ({ou.id}) still contains {shown}; AWS deletes only empty OUs. Move or delete "
                "them, or set deletionPolicy: Retain",
            ),
            resource_id=known_id,
        )
    return Plan(actions=(DeleteOU(known_id, ou.name),), resource_id=known_id)
