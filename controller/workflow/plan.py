"""``awsorg plan PATH...``: what the operator would do in AWS after the merge. Read-only.

The files are planned with the operator's own planners against one read of the organization, in the
order the operator converges: OUs (parents first), then accounts, then policies. Objects planned for
creation are added to a working copy of the snapshot, so that what refers to them plans as it will.

Without ``--base``, objects are matched to AWS as the operator matches them on its first reconcile
(OUs by name under their parent, accounts by accountId or email, policies by name). With ``--base DIR``
(the files before the change, e.g. the target branch), each object is first matched through its
previous version, so renames show as renames, and objects removed from the files show as deletions
per their ``deletionPolicy``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.api.models import API_VERSION
from controller.aws.gateway import OrganizationsGateway
from controller.planner.account import AccountRecord, DesiredAccount, plan_account, plan_account_delete
from controller.planner.actions import (
    AttachPolicy,
    BindCreateRequest,
    CreateAccount,
    CreateOU,
    CreatePolicy,
    DetachPolicy,
    EnablePolicyType,
    Plan,
    RecordCreationIntent,
)
from controller.planner.orgunit import DesiredOU, plan_orgunit, plan_orgunit_delete
from controller.planner.policy import DesiredPolicy, PolicyTarget, find_policy, plan_policy, plan_policy_delete
from controller.planner.policy_document import minify
from controller.state import ObservedAccount, ObservedOU, ObservedPolicy, OrgSnapshot

KINDS = ("OrgUnit", "AwsAccount", "ServiceControlPolicy")
_DEFAULT_POLICY = {"SERVICE_CONTROL_POLICY": "FullAWSAccess", "RESOURCE_CONTROL_POLICY": "RCPFullAWSAccess"}


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    symbol: str  # + create, ~ change, - delete/forget, ! refused
    text: str


@dataclass
class PlanReport:
    changes: list[Change] = field(default_factory=list)
    problems: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not self.changes and not self.problems

    def count(self, symbol: str) -> int:
        return sum(1 for c in self.changes if c.symbol == symbol)


# ---------------------------------------------------------------------------------------------- loading


def load(paths: Sequence[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """kind -> metadata.name -> object, for our kinds in every YAML file under ``paths``."""
    objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        for file in files:
            if any(part.startswith(".") for part in file.parts[len(path.parts):] if path.is_dir()):
                continue
            for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("apiVersion") == API_VERSION and doc.get("kind") in KINDS:
                    objects[doc["kind"]][doc["metadata"]["name"]] = doc
    return objects


# --------------------------------------------------------------------------------------------- planning


class _Planner:
    def __init__(self, gateway: OrganizationsGateway, snapshot: OrgSnapshot) -> None:
        self.gateway = gateway
        self.snap = snapshot
        self.report = PlanReport()
        self.ids: dict[tuple[str, str], str] = {}  # (kind, name) -> planned AWS id (real or "new:...")

    # -- helpers
    def _tags(self, resource_id: str | None, wanted: Mapping[str, str] | None) -> dict[str, str] | None:
        if wanted is None or not resource_id or resource_id.startswith("new:"):
            return None
        return self.gateway.list_tags(resource_id)

    def _record(self, kind: str, name: str, plan: Plan) -> None:
        if plan.blocked is not None:
            self.report.problems.append(Change(kind, name, "!", f"{plan.blocked.reason}: {plan.blocked.message}"))
            return
        writes = [a for a in plan.actions if not isinstance(a, BindCreateRequest)]
        if not writes:
            self.report.unchanged += 1
            return
        for action in writes:
            symbol = "+" if isinstance(action, (CreateOU, RecordCreationIntent, CreateAccount, CreatePolicy)) else "~"
            text = action.describe()
            if isinstance(action, RecordCreationIntent):
                text = f"create account {action.account_name!r} <{action.email}> (CreateAccount)"
            self.report.changes.append(Change(kind, name, symbol, text))

    def _parent(self, spec: Mapping[str, Any], ref_key: str, objects: Mapping[str, Any]) -> tuple[str | None, str]:
        ref = (spec.get(ref_key) or {}).get("name")
        if ref:
            if ("OrgUnit", ref) in self.ids:
                return self.ids[("OrgUnit", ref)], ""
            return None, f"spec.{ref_key}.name: OrgUnit {ref!r} is not in the files"
        return spec.get("parentId"), ""

    # -- kinds
    def orgunits(self, objects: Mapping[str, dict[str, Any]], base: Mapping[str, dict[str, Any]]) -> None:
        for name in _parents_first(objects):
            spec = objects[name].get("spec") or {}
            parent_id, problem = self._parent(spec, "parentRef", objects)
            if problem:
                self.report.problems.append(Change("OrgUnit", name, "!", problem))
                continue
            aws_name = spec.get("name") or name
            parent = parent_id or self.snap.root_id
            known = self._base_ou_id(name, base)
            current = self.snap.ous.get(known) if known else self.snap.ou_named(parent, aws_name)
            plan = plan_orgunit(
                DesiredOU(name, aws_name, parent_id, tags=spec.get("tags"),
                          observe_only=spec.get("managementPolicy") == "Observe"),
                self.snap, known, self._tags(current.id if current else None, spec.get("tags")),
            )
            self._record("OrgUnit", name, plan)
            if plan.resource_id:
                self.ids[("OrgUnit", name)] = plan.resource_id
            for action in plan.actions:
                if isinstance(action, CreateOU):
                    new_id = f"new:ou/{name}"
                    self.snap = self.snap.with_ou(ObservedOU(new_id, "", action.name, action.parent_id))
                    self.ids[("OrgUnit", name)] = new_id

    def _base_ou_id(self, name: str, base: Mapping[str, dict[str, Any]]) -> str | None:
        old = base.get(name)
        if old is None:
            return None
        spec = old.get("spec") or {}
        ref = (spec.get("parentRef") or {}).get("name")
        parent = self._base_ou_id(ref, base) if ref else (spec.get("parentId") or self.snap.root_id)
        if parent is None:
            return None
        found = self.snap.ou_named(parent, spec.get("name") or name)
        return found.id if found else None

    def accounts(self, objects: Mapping[str, dict[str, Any]]) -> None:
        claimed: dict[str, str] = {}
        for name in sorted(objects):
            spec = objects[name].get("spec") or {}
            parent_id, problem = self._parent(spec, "orgUnitRef", objects)
            if problem:
                self.report.problems.append(Change("AwsAccount", name, "!", problem))
                continue
            email = str(spec.get("email", ""))
            owner = claimed.setdefault(email.lower(), name)
            desired = DesiredAccount(
                object_name=name, account_name=str(spec.get("accountName", "")), email=email, parent_id=parent_id,
                role_name=spec.get("roleName") or "OrganizationAccountAccessRole",
                iam_user_access_to_billing=spec.get("iamUserAccessToBilling") or "ALLOW",
                account_id=spec.get("accountId"), tags=spec.get("tags"),
                observe_only=spec.get("managementPolicy") == "Observe",
            )
            existing = self.snap.accounts.get(spec.get("accountId") or "") or self.snap.account_with_email(email)
            plan = plan_account(desired, self.snap, AccountRecord(), email_owner=owner if owner != name else None,
                                actual_tags=self._tags(existing.id if existing else None, spec.get("tags")))
            self._record("AwsAccount", name, plan)
            if plan.resource_id:
                self.ids[("AwsAccount", name)] = plan.resource_id
            if any(isinstance(a, RecordCreationIntent) for a in plan.actions):
                new_id = f"new:account/{name}"
                self.snap = self.snap.with_account(ObservedAccount(new_id, "", desired.account_name, email, "ACTIVE",
                                                                   parent_id or self.snap.root_id))
                self.ids[("AwsAccount", name)] = new_id

    def policies(self, objects: Mapping[str, dict[str, Any]]) -> None:
        for name in sorted(objects):
            spec = objects[name].get("spec") or {}
            targets_spec = spec.get("targets") or {}
            targets: list[PolicyTarget] = []
            problems: list[str] = []
            for key, kind in (("orgUnitRefs", "OrgUnit"), ("accountRefs", "AwsAccount")):
                for i, ref in enumerate(targets_spec.get(key) or []):
                    target = self.ids.get((kind, ref.get("name", "")))
                    if target is None:
                        problems.append(f"spec.targets.{key}[{i}]: {kind} {ref.get('name')!r} is not in the files")
                    else:
                        targets.append(PolicyTarget(target, f"spec.targets.{key}[{i}]"))
            targets += [PolicyTarget(t, f"spec.targets.ids[{i}]") for i, t in enumerate(targets_spec.get("ids") or [])]
            if problems:
                self.report.problems.append(Change("ServiceControlPolicy", name, "!", "; ".join(problems)))
                continue
            desired = DesiredPolicy(
                object_name=name, name=spec.get("name") or name,
                type=spec.get("type") or "SERVICE_CONTROL_POLICY", content=minify(spec.get("document") or {}),
                description=spec.get("description") or "", root=bool(targets_spec.get("root")),
                targets=tuple(targets), tags=spec.get("tags"),
                observe_only=spec.get("managementPolicy") == "Observe",
            )
            current, _ = find_policy(desired, self.snap, None)
            actual_tags = self._tags(current.id if current and not current.aws_managed else None, desired.tags)
            plan = plan_policy(desired, self.snap, None, actual_tags)
            if plan.actions and isinstance(plan.actions[0], EnablePolicyType):
                self._record("ServiceControlPolicy", name, Plan(actions=plan.actions[:1]))
                self.snap = _enabled(self.snap, desired.type)
                plan = plan_policy(desired, self.snap, None, actual_tags)
            attaching = [a.target_id for a in plan.actions
                         if isinstance(a, AttachPolicy) and not a.target_id.startswith("new:")]
            if attaching and desired.type in snapshot_types(self.gateway):
                for target_id in attaching:  # what AWS-managed policies are on them (read-only)
                    self.gateway.refresh_target_policies(target_id, desired.type)
                self.snap = _merge_targets(self.snap, self.gateway.snapshot(max_age=None), attaching)
                plan = plan_policy(desired, self.snap, None, actual_tags)
            self._record("ServiceControlPolicy", name, plan)
            for action in plan.actions:
                if isinstance(action, CreatePolicy):
                    new_id = f"new:policy/{name}"
                    targets_now = frozenset(a.target_id for a in plan.actions if isinstance(a, AttachPolicy))
                    self.snap = self.snap.with_policy(ObservedPolicy(new_id, "", desired.name, desired.description,
                                                                     desired.type, False, desired.content, targets_now))
                if (isinstance(action, (AttachPolicy, DetachPolicy)) and action.policy_id
                        and action.policy_id in self.snap.policies):
                    pol = self.snap.policies[action.policy_id]
                    ids = set(pol.target_ids)
                    if isinstance(action, AttachPolicy):
                        ids.add(action.target_id)
                    else:
                        ids.discard(action.target_id)
                    self.snap = self.snap.with_policy(dataclasses.replace(pol, target_ids=frozenset(ids)))

    def deletions(self, base: Mapping[str, Mapping[str, dict[str, Any]]],
                  current: Mapping[str, Mapping[str, dict[str, Any]]], base_snapshot: OrgSnapshot) -> None:
        for kind in reversed(KINDS):
            for name in sorted(set(base[kind]) - set(current[kind])):
                spec = base[kind][name].get("spec") or {}
                observe = spec.get("managementPolicy") == "Observe"
                if kind == "OrgUnit":
                    known = self._base_ou_id(name, base["OrgUnit"])
                    retain = spec.get("deletionPolicy", "Delete") == "Retain" or observe
                    plan = plan_orgunit_delete(known, base_snapshot, retain=retain)
                elif kind == "AwsAccount":
                    found = (base_snapshot.accounts.get(spec.get("accountId") or "")
                             or base_snapshot.account_with_email(str(spec.get("email", ""))))
                    plan = plan_account_delete(AccountRecord(id=found.id if found else None), base_snapshot,
                                               policy=str(spec.get("deletionPolicy", "Retain")), observe_only=observe)
                else:
                    pol = base_snapshot.policy_named(spec.get("name") or name,
                                                     spec.get("type") or "SERVICE_CONTROL_POLICY")
                    retain = spec.get("deletionPolicy", "Delete") == "Retain" or observe
                    plan = plan_policy_delete(pol.id if pol else None, base_snapshot, retain=retain)
                if plan.blocked is not None:
                    why = f"{plan.blocked.reason}: {plan.blocked.message}"
                    self.report.problems.append(Change(kind, name, "!", why))
                elif plan.actions:
                    for action in plan.actions:
                        self.report.changes.append(Change(kind, name, "-", action.describe()))
                elif plan.resource_id:
                    self.report.changes.append(Change(kind, name, "-", f"forget {plan.resource_id}: it stays in AWS "
                                                      "(deletionPolicy Retain, or Observe)"))


def snapshot_types(gateway: OrganizationsGateway) -> frozenset[str]:
    """Policy types enabled in AWS (not in the working copy, where planned enables are already applied)."""
    return gateway.snapshot(max_age=None).enabled_policy_types


def _merge_targets(working: OrgSnapshot, read: OrgSnapshot, targets: Sequence[str]) -> OrgSnapshot:
    """Copy what AWS says is attached to ``targets`` into the working snapshot."""
    for policy in read.policies.values():
        mine = working.policies.get(policy.id)
        if mine is None:
            continue
        ids = set(mine.target_ids)
        for target in targets:
            if target in policy.target_ids:
                ids.add(target)
        working = working.with_policy(dataclasses.replace(mine, target_ids=frozenset(ids)))
    return working


def _parents_first(objects: Mapping[str, dict[str, Any]]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, depth: int = 0) -> None:
        if name in seen or depth > 64:
            return
        parent = ((objects[name].get("spec") or {}).get("parentRef") or {}).get("name")
        if isinstance(parent, str) and parent in objects:
            visit(parent, depth + 1)
        seen.add(name)
        order.append(name)

    for name in sorted(objects):
        visit(name)
    return order


def _enabled(snap: OrgSnapshot, policy_type: str) -> OrgSnapshot:
    """What enabling a policy type does in AWS: its default policy is attached to every target."""
    snap = snap.with_policy_types(set(snap.enabled_policy_types) | {policy_type})
    everything = frozenset({snap.root_id, *snap.ous, *snap.accounts})
    default = _DEFAULT_POLICY.get(policy_type, "FullAWSAccess")
    existing = snap.policy_named(default, policy_type)
    ident = existing.id if existing else f"new:policy/{default}"
    return snap.with_policy(ObservedPolicy(ident, "", default, "", policy_type, True, None, everything))


def plan_paths(paths: Sequence[Path], gateway: OrganizationsGateway, base: Sequence[Path] = ()) -> PlanReport:
    current = load(paths)
    previous = load(base) if base else {k: {} for k in KINDS}
    snapshot = gateway.snapshot(max_age=0)
    planner = _Planner(gateway, snapshot)
    planner.orgunits(current["OrgUnit"], previous["OrgUnit"])
    planner.accounts(current["AwsAccount"])
    planner.policies(current["ServiceControlPolicy"])
    if base:
        planner.deletions(previous, current, snapshot)
    return planner.report


# ---------------------------------------------------------------------------------------------- output


def _summary(report: PlanReport) -> str:
    if report.empty:
        return "No changes: AWS matches the files."
    return (f"Plan: {report.count('+')} to create, {report.count('~')} to change, {report.count('-')} to delete or "
            f"forget, {len(report.problems)} refused; {report.unchanged} unchanged.")


def format_text(report: PlanReport) -> str:
    lines = [_summary(report)]
    for change in [*report.changes, *report.problems]:
        lines.append(f"  {change.symbol} {change.kind}/{change.name}: {change.text}")
    return "\n".join(lines) + "\n"


def format_markdown(report: PlanReport) -> str:
    lines = ["### awsorg plan", "", _summary(report), ""]
    if not report.empty:
        lines += ["| | object | what happens in AWS |", "|---|---|---|"]
        icons = {"+": ":heavy_plus_sign:", "~": ":pencil2:", "-": ":heavy_minus_sign:", "!": ":no_entry:"}
        for change in [*report.changes, *report.problems]:
            text = change.text.replace("|", "\\|")
            lines.append(f"| {icons[change.symbol]} | `{change.kind}/{change.name}` | {text} |")
    return "\n".join(lines) + "\n"


def format_json(report: PlanReport) -> str:
    return json.dumps({
        "changes": [dataclasses.asdict(c) for c in report.changes],
        "refused": [dataclasses.asdict(c) for c in report.problems],
        "unchanged": report.unchanged,
    }, indent=2) + "\n"


FORMATS = {"text": format_text, "markdown": format_markdown, "json": format_json}

def plan_command(paths: Sequence[Path], base: Sequence[Path], output: str) -> int:
    """``awsorg plan``: validate offline first (a plan of invalid YAML means nothing), then plan read-only.

    Exit 0 when the plan could be made (changes or not), 1 on invalid files or refused changes, 2 on bad
    settings. Only List/Describe calls are made (the same credentials and AWS_ENDPOINT_URL as the operator).
    """
    import sys

    from controller.aws.errors import AwsError
    from controller.aws.session import organizations_client
    from controller.settings import Settings, SettingsError
    from controller.workflow.validate import format_text as format_findings
    from controller.workflow.validate import validate_paths

    report = validate_paths(paths)
    if report.errors:
        sys.stderr.write("awsorg plan: the files are invalid; `awsorg validate` says:\n" + format_findings(report))
        return 1
    try:
        settings = Settings.from_env()
        gateway = OrganizationsGateway(organizations_client(settings.assume_role_arn))
        result = plan_paths(paths, gateway, base)
    except SettingsError as exc:
        print(f"awsorg plan: {exc}", file=sys.stderr)
        return 2
    except AwsError as exc:
        print(f"awsorg plan: reading the organization failed: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(FORMATS[output](result))
    return 1 if result.problems else 0
