"""Tag planning shared by every kind: ``tags`` in a spec, when present, is the whole tag set."""

from __future__ import annotations

from collections.abc import Mapping

from controller.api import limits
from controller.planner.actions import Action, Difference, TagResource, UntagResource


def is_aws_reserved(key: str) -> bool:
    """Keys starting ``aws:`` belong to AWS and are never touched."""
    return limits.is_reserved_tag_key(key)


def plan_tags(
    resource_id: str, desired: Mapping[str, str] | None, actual: Mapping[str, str] | None
) -> tuple[list[Action], list[Difference]]:
    """Actions that make ``actual`` equal ``desired``; nothing when either is unknown (None)."""
    if desired is None or actual is None:
        return [], []
    wanted = {k: v for k, v in desired.items() if not is_aws_reserved(k)}
    have = {k: v for k, v in actual.items() if not is_aws_reserved(k)}
    to_set = {k: v for k, v in wanted.items() if have.get(k) != v}
    to_remove = tuple(sorted(k for k in have if k not in wanted))
    actions: list[Action] = []
    diffs: list[Difference] = []
    for key in sorted(to_set):
        diffs.append(Difference(f"tags.{key}", to_set[key], have.get(key)))
    for key in to_remove:
        diffs.append(Difference(f"tags.{key}", None, have[key]))
    if to_set:
        actions.append(TagResource(resource_id, to_set))
    if to_remove:
        actions.append(UntagResource(resource_id, to_remove))
    return actions, diffs
