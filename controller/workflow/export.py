"""``awsorg export``: an existing organization written out as objects, to start a landing-zone repository.

Read-only: one organization snapshot (the gateway's, as the operator reads it) plus the tags of what is
exported.  Every object carries ``deletionPolicy: Retain``: what was adopted from AWS is never deleted in
AWS because its object went away (an ArgoCD prune, a file removed by mistake); deleting it is a decision made
later, object by object.  Accounts carry ``accountId`` so that applying the export adopts them (never creates
them); customer-managed SCPs and RCPs carry their document as a YAML object and their targets as references
to the exported objects.  AWS-managed policies (FullAWSAccess) are not exported.  The one ``Organization``
object says what the organization has today: its feature set, the policy types enabled on the root, the services
with trusted access and their delegated administrators (as ``accountRef`` to the exported accounts), read with
ListAWSServiceAccessForOrganization and ListDelegatedAdministrators (one call per trusted service that supports a
delegated administrator).

``centralLogging`` is exported from what AWS holds (:func:`_central_logging`): the management account's
organization trail (DescribeTrails), the member account whose role finds the bucket (Config's delegated
administrator first), the bucket's retention, Object Lock and KMS key, the regions where that account's AWS Config
records into the bucket and its organization aggregator.  ``accessRole`` is a decision, not a fact AWS holds:
``--access-role NAME`` exports it from the role NAME as the member accounts hold it (:func:`_access_role`; the
accounts that differ from the most common form are listed); without it, the header says it is not exported.
Member accounts are read through the member role with the plan's recording clients (reads only, counted); a
read that fails is a note in the header of the Organization's file, never a silent omission.

The YAML is written for kubectl (:class:`~controller.workflow.safeyaml.GoDumper`): every string go-yaml or YAML 1.1
would read as something else is quoted (``accountId: '049474891394'``: unquoted, kubectl sends a number), unicode
is written as it is, and names keep AWS's spelling in ``spec`` while object names transliterate it (``Données`` ->
``donnees``).
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.api import limits
from controller.api.limits import MANAGEMENT_POLICY_TYPES
from controller.api.models import API_VERSION, GROUP, ORGANIZATION_NAME
from controller.aws.central_logging import CONFIG_PRINCIPAL, CentralLoggingGateway
from controller.aws.dryrun import RecordingCentralLogging, RecordingMembers
from controller.aws.errors import AwsError
from controller.aws.factory import Factory
from controller.aws.gateway import OrganizationsGateway
from controller.planner.access_role import DesiredAccessRole, TrustCondition, normalize_trust, parse_policy
from controller.planner.central_logging import sort_lifecycle
from controller.planner.organization import ALL, DELEGATED_ADMIN_PRINCIPALS
from controller.planner.tags import is_aws_reserved
from controller.state import ObservedRole, OrgSnapshot
from controller.workflow import exits, safeyaml

__all__ = ["Export", "export_command", "export_organization", "k8s_name", "render", "write_files"]

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
MANAGEMENT_ACCOUNT = f"{GROUP}/management-account"
POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
FILES = {"Organization": "00-organization.yaml", "OrgUnit": "00-orgunits.yaml", "AwsAccount": "10-accounts.yaml",
         "ServiceControlPolicy": "20-policies.yaml", "ManagementPolicy": "25-management-policies.yaml"}
_MAX_NAME = 63


def k8s_name(text: str, fallback: str) -> str:
    """A DNS-1123 label from an AWS name: ``Non-Production`` -> ``non-production``, ``Shared Services`` ->
    ``shared-services``; ``fallback`` when nothing usable is left."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))  # É -> E
    name = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return name[:_MAX_NAME].strip("-") or fallback


def _qualified(qualifier: str | None, base: str) -> str:
    return k8s_name(f"{qualifier}-{base}", base) if qualifier else base


def _suffixed(name: str, suffix: str) -> str:
    tail = k8s_name(suffix, "x")
    return f"{name[: _MAX_NAME - len(tail) - 1].rstrip('-')}-{tail}"


@dataclass(frozen=True)
class _Named:
    """One exported object to name: ``key`` (its AWS id), the ``base`` name from its AWS name, what qualifies a
    base used more than once (its parent's object name, ``rcp``; None: nothing), and its id as a last resort."""

    key: str
    base: str
    qualifier: str | None
    suffix: str


def _names(items: Sequence[_Named], repeated: Collection[str], taken: Collection[str] = ()) -> dict[str, str]:
    """Object names for ``items``, whatever their order: the base name; a base in ``repeated`` (used by more
    than one object of the kind) qualified, ``workloads-production``; a name still used twice (or in ``taken``,
    the names given before) followed by the AWS id, which nothing else changes.  So the same organization gives
    the same names, and an object added later renames no other object unless they share a base name (or, rarely,
    the added one's name is another's qualified name: an OU "Workloads Production" beside Workloads/Production).
    """
    names = {i.key: _qualified(i.qualifier, i.base) if i.base in repeated else i.base for i in items}
    uses = Counter([*names.values(), *taken])
    for item in items:
        if uses[names[item.key]] > 1:
            names[item.key] = _suffixed(names[item.key], item.suffix)
    used = set(taken)  # a suffixed name meets another name only by an odd coincidence: still never two alike
    for key in sorted(names):
        name, n = names[key], 2
        while name in used:
            name, n = _suffixed(names[key], str(n)), n + 1
        used.add(name)
        names[key] = name
    return names


@dataclass
class Export:
    organization_id: str
    orgunits: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    management_policies: list[dict[str, Any]] = field(default_factory=list)
    organization: list[dict[str, Any]] = field(default_factory=list)  # the one Organization object
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # written in the Organization's header: what was not exported
    calls: dict[str, int] = field(default_factory=dict)  # the reads made in member accounts and CloudTrail

    def by_kind(self) -> dict[str, list[dict[str, Any]]]:
        return {"Organization": self.organization, "OrgUnit": self.orgunits, "AwsAccount": self.accounts,
                "ServiceControlPolicy": self.policies, "ManagementPolicy": self.management_policies}


def _object(kind: str, name: str, wave: str, spec: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "annotations": {SYNC_WAVE: wave, **annotations}},
        "spec": spec,
    }


def _tags(gateway: OrganizationsGateway, resource_id: str) -> dict[str, str]:
    return {k: v for k, v in sorted(gateway.list_tags(resource_id).items()) if not is_aws_reserved(k)}


@dataclass(frozen=True)
class MemberReads:
    """What the export reads beyond AWS Organizations: member accounts through the member role (reads only: the
    plan's recording members), CloudTrail in the management account, and the access role to export (None: not)."""

    members: RecordingMembers
    trails: Callable[[str], Any]
    access_role: str | None = None
    config_regions: tuple[str, ...] = ()  # regions looked at for AWS Config besides the trail's home region


def export_organization(gateway: OrganizationsGateway, reads: MemberReads | None = None) -> Export:
    """Read the organization (List*/Describe* calls only; with ``reads``, the trail, the log archive and the access
    role too: List/Describe/Get and AssumeRole) and describe it as objects."""
    snap = gateway.snapshot()
    out = Export(snap.organization_id)
    ou_names = _export_orgunits(gateway, snap, out)
    account_names = _export_accounts(gateway, snap, out, ou_names)
    _export_policies(gateway, snap, out.policies, "ServiceControlPolicy", POLICY_TYPES, out, ou_names, account_names)
    _export_policies(gateway, snap, out.management_policies, "ManagementPolicy", MANAGEMENT_POLICY_TYPES, out,
                     ou_names, account_names)
    _export_organization(gateway, snap, out, account_names, reads)
    return out


def _member_ids(snap: OrgSnapshot) -> list[str]:
    """The accounts that get the baseline: every ACTIVE account but the management account."""
    return sorted(a.id for a in snap.accounts.values() if a.state == "ACTIVE" and a.id != snap.management_account_id)


def _account_label(snap: OrgSnapshot, account_id: str) -> str:
    acct = snap.accounts.get(account_id)
    return f"{account_id} ({acct.name})" if acct is not None else account_id


def _central_logging(logs: CentralLoggingGateway, snap: OrgSnapshot, out: Export, account_names: Mapping[str, str],
                     config_admins: Sequence[str], config_regions: Sequence[str]) -> dict[str, Any] | None:
    """``spec.centralLogging`` as AWS holds it, with the values that make the plan of the export empty; what the
    plan will still show, or could not be read, in ``out.notes``."""
    try:
        trails = sorted((t for t in logs.read_event_trails() if t.organization), key=lambda t: t.name)
    except AwsError as exc:
        out.notes.append(f"centralLogging is not exported: reading the organization trail failed ({exc})")
        return None
    if not trails:
        out.notes.append("centralLogging is not exported: the management account has no organization trail "
                         "(DescribeTrails: no trail with IsOrganizationTrail)")
        return None
    trail = trails[0]
    if len(trails) > 1:
        out.notes.append(f"centralLogging: {len(trails)} organization trails; {trail.name!r} is exported, not "
                         + ", ".join(repr(t.name) for t in trails[1:]))
    home = trail.arn.split(":")[3]
    candidates = [*(a for a in config_admins if a in account_names),
                  *(a for a in _member_ids(snap) if a not in config_admins)]
    archive, bucket = None, None
    for account_id in candidates:  # the delegated administrator for Config first: where the bucket usually is
        try:
            found = logs.read_bucket(account_id, home, trail.bucket)
        except AwsError as exc:
            out.notes.append(f"centralLogging: the bucket {trail.bucket!r} could not be looked for in account "
                             f"{_account_label(snap, account_id)} ({exc})")
            continue
        if found.owned:
            archive, bucket = account_id, found
            break
    if archive is None or bucket is None:
        out.notes.append(f"centralLogging is not exported: the trail {trail.name!r} logs into {trail.bucket!r}, "
                         "which no member account's role could find (ListBuckets)")
        return None
    spec: dict[str, Any] = {"accountRef": {"name": account_names[archive]}, "bucketName": trail.bucket}
    plan_shows: list[str] = []
    days = bucket.expiration_days
    ours, _, dropped = sort_lifecycle(days, bucket.lifecycle_rules)
    if days is not None:
        spec["retentionDays"] = days
    if dropped or (days is not None and not ours):
        plan_shows.append(f"the bucket's lifecycle rules as retentionDays {days if days is not None else 'absent'}"
                          " (the operator's rule expires objects and noncurrent versions alike)")
    spec["cloudTrail"] = {"enabled": True, "trailName": trail.name}
    if not (trail.multi_region and trail.log_file_validation and trail.logging):
        plan_shows.append(f"the trail {trail.name!r} made multi-region, with log file validation, logging")
    spec["config"] = _config(logs, snap, out, archive, trail.bucket, [home, *(r for r in config_regions if r != home)])
    spec["homeRegion"] = home
    if bucket.object_lock_enabled and bucket.object_lock is not None:
        spec["objectLock"] = {"mode": bucket.object_lock[0], "days": bucket.object_lock[1]}
    if bucket.kms_key is not None:
        spec["kmsKeyArn"] = bucket.kms_key
    if not (bucket.encrypted and bucket.versioned and bucket.public_access_blocked):
        plan_shows.append("the bucket's encryption, versioning and public access block")
    if plan_shows:
        out.notes.append("centralLogging: the plan of this export will show " + "; ".join(plan_shows))
    return spec


def _config(logs: CentralLoggingGateway, snap: OrgSnapshot, out: Export, archive: str, bucket: str,
            regions: Sequence[str]) -> dict[str, Any]:
    """``centralLogging.config``: the regions where the log archive's AWS Config records into the bucket, and its
    organization aggregator in the home region."""
    seen = logs.read_config(archive, regions)
    if seen.error is not None:
        out.notes.append(f"centralLogging.config: AWS Config could not be read in the log archive account "
                         f"{_account_label(snap, archive)} ({seen.error}); exported as enabled: false")
        return {"enabled": False}
    recording = [r for r in regions if (rec := seen.regions.get(r)) is not None and rec.recorder is not None
                 and rec.channel_bucket == bucket]
    looked = f"looked at in {', '.join(regions)} (more: --config-region)"
    if not recording:
        out.notes.append(f"centralLogging.config: no AWS Config recorder delivers into {bucket!r} in the log "
                         f"archive account ({looked}); exported as enabled: false")
        return {"enabled": False}
    try:
        aggregators = logs.list_organization_aggregators(archive, regions[0])
    except AwsError as exc:
        out.notes.append(f"centralLogging.config: the aggregators could not be read ({exc}); the default name is "
                         "exported")
        aggregators = []
    config: dict[str, Any] = {"enabled": True, "regions": recording}
    if aggregators:
        config["aggregatorName"] = aggregators[0]
    else:
        out.notes.append(f"centralLogging.config: no organization aggregator in {regions[0]}; the plan of this "
                         "export will create one")
    out.notes.append(f"centralLogging.config: recorders {looked}")
    return config


def _condition_values(value: Any) -> tuple[str, ...]:
    """A condition's values as the spec writes them: strings ('true', '3600'), sorted, once each."""
    return tuple(sorted({str(v).lower() if isinstance(v, bool) else str(v)
                         for v in (value if isinstance(value, list) else [value])}))


def _role_spec(role: ObservedRole) -> tuple[dict[str, Any] | None, str]:
    """``spec.accessRole`` that describes ``role`` exactly (None and why, when its trust policy says more than
    trustedPrincipals and conditions can)."""
    parsed = parse_policy(role.trust_policy)
    statements = (parsed or {}).get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    unlike = "its trust policy is not one statement allowing sts:AssumeRole to AWS principals"
    if len(statements) != 1 or not isinstance(statements[0], Mapping):
        return None, unlike
    principal = statements[0].get("Principal")
    aws = principal.get("AWS") if isinstance(principal, Mapping) and set(principal) == {"AWS"} else None
    if aws is None:
        return None, unlike
    principals = sorted({f"arn:aws:iam::{p}:root" if re.fullmatch(r"\d{12}", str(p)) else str(p)
                         for p in (aws if isinstance(aws, list) else [aws])})
    block = statements[0].get("Condition") or {}
    found = [TrustCondition(str(op), str(key), _condition_values(value))
             for op, keys in sorted(block.items()) if isinstance(keys, Mapping) for key, value in sorted(keys.items())]
    conditions = [{"operator": c.operator, "key": c.key, "values": list(c.values)} for c in found]
    desired = DesiredAccessRole(role.name, tuple(principals), tuple(sorted(role.attached)), conditions=tuple(found))
    if normalize_trust(desired.trust_policy()) != normalize_trust(role.trust_policy):
        return None, unlike
    spec: dict[str, Any] = {"roleName": role.name, "trustedPrincipals": principals,
                            "managedPolicyArns": sorted(role.attached)}
    if conditions:
        spec["conditions"] = conditions
    if role.max_session_duration != limits.ROLE_SESSION_DEFAULT:
        spec["maxSessionDuration"] = role.max_session_duration
    return spec, ""


def _access_role(members: RecordingMembers, snap: OrgSnapshot, out: Export, role_name: str) -> dict[str, Any] | None:
    """``spec.accessRole`` from the role ``role_name`` in the member accounts: the form most of them hold; the
    accounts that differ listed in ``out.notes`` (the plan of the export shows them as changes)."""
    forms: dict[str, dict[str, Any]] = {}
    holders: dict[str, list[str]] = {}
    other: dict[str, str] = {}
    for account_id in _member_ids(snap):
        access = members.read_role(account_id, role_name)
        label = _account_label(snap, account_id)
        if not access.reached:
            out.notes.append(f"accessRole: the role {role_name!r} could not be read in account {label} "
                             f"({access.error})")
            continue
        if access.role is None:
            other[label] = "no such role"
            continue
        spec, why = _role_spec(access.role)
        if spec is None:
            other[label] = why
            continue
        key = json.dumps(spec, sort_keys=True)
        forms[key] = spec
        holders.setdefault(key, []).append(label)
    if not forms:
        out.notes.append(f"accessRole is not exported: no member account holds the role {role_name!r} in a form "
                         "spec.accessRole describes" + "".join(f"; {a}: {w}" for a, w in sorted(other.items())))
        return None
    chosen = max(sorted(forms), key=lambda k: len(holders[k]))
    for key in forms:
        if key != chosen:
            differs = ", ".join(f"{k} {json.dumps(forms[key].get(k))}" for k in sorted({*forms[key], *forms[chosen]})
                                if forms[key].get(k) != forms[chosen].get(k))
            for label in holders[key]:
                other[label] = f"its role has {differs}"
    if other:
        out.notes.append(f"accessRole: exported as {len(holders[chosen])} member account(s) hold it; the plan of "
                         "this export will show these accounts as changes: "
                         + "; ".join(f"{a}: {w}" for a, w in sorted(other.items())))
    return forms[chosen]


def _export_organization(gateway: OrganizationsGateway, snap: OrgSnapshot, out: Export,
                         account_names: Mapping[str, str], reads: MemberReads | None = None) -> None:
    """The Organization object: what the organization has today (policy types, trusted access and delegated
    administrators exist only with all features)."""
    spec: dict[str, Any] = {"featureSet": snap.feature_set}
    if snap.feature_set == ALL:
        spec["policyTypes"] = sorted(snap.enabled_policy_types)
        trusted = sorted(gateway.list_trusted_services())
        spec["trustedServices"] = trusted
        admins = [(principal, account_id) for principal in trusted if principal in DELEGATED_ADMIN_PRINCIPALS
                  for account_id in sorted(gateway.list_delegated_administrators(principal))]
        spec["delegatedAdministrators"] = [
            {"accountRef": {"name": account_names[account_id]}, "servicePrincipal": principal}
            if account_id in account_names else {"accountId": account_id, "servicePrincipal": principal}
            for principal, account_id in admins]
    if reads is not None:
        logs = RecordingCentralLogging(reads.members, reads.trails)
        if snap.feature_set == ALL:  # an organization trail and Config's aggregator need trusted access
            config_admins = [a for p, a in admins if p == CONFIG_PRINCIPAL]
            logging = _central_logging(logs, snap, out, account_names, config_admins, reads.config_regions)
            if logging is not None:
                spec["centralLogging"] = logging
        if reads.access_role is not None:  # with consolidated billing too (the only setting it has)
            role = _access_role(reads.members, snap, out, reads.access_role)
            if role is not None:
                spec["accessRole"] = role
        for calls in (reads.members.calls, logs.calls):
            for operation, n in calls.items():
                out.calls[operation] = out.calls.get(operation, 0) + n
    if reads is None or reads.access_role is None:
        out.notes.append("accessRole is not exported: which role in the member accounts is the access role is a "
                         "decision; `awsorg export --access-role NAME` exports it from the role NAME as the member "
                         "accounts hold it")
    spec["deletionPolicy"] = "Retain"
    out.organization.append(_object("Organization", ORGANIZATION_NAME, "3", spec))


def _export_orgunits(gateway: OrganizationsGateway, snap: OrgSnapshot, out: Export) -> dict[str, str]:
    ordered = sorted(snap.ous.values(), key=lambda ou: (snap.depth(ou.id), snap.path(ou.id), ou.id))
    bases = Counter(k8s_name(ou.name, "ou") for ou in ordered)
    repeated = {base for base, n in bases.items() if n > 1}
    names: dict[str, str] = {}
    for depth in sorted({snap.depth(ou.id) for ou in ordered}):  # parents first: they qualify their children
        level = [ou for ou in ordered if snap.depth(ou.id) == depth]
        names.update(_names([_Named(ou.id, k8s_name(ou.name, "ou"), names.get(ou.parent_id),
                                    ou.id.rsplit("-", 1)[-1]) for ou in level], repeated, set(names.values())))
    for ou in ordered:
        parent = names.get(ou.parent_id)
        spec: dict[str, Any] = {"name": ou.name}
        if parent is not None:
            spec["parentRef"] = {"name": parent}
        tags = _tags(gateway, ou.id)
        if tags:
            spec["tags"] = tags
        spec["deletionPolicy"] = "Retain"
        out.orgunits.append(_object("OrgUnit", names[ou.id], "1", spec))
    return names


def _export_accounts(
    gateway: OrganizationsGateway, snap: OrgSnapshot, out: Export, ou_names: Mapping[str, str]
) -> dict[str, str]:
    accounts = []
    for acct in sorted(snap.accounts.values(), key=lambda a: (a.name.lower(), a.id)):
        if acct.state != "ACTIVE":
            out.skipped.append(f"account {acct.id} ({acct.name}): state {acct.state}, not exported")
            continue
        accounts.append(acct)
    bases = Counter(k8s_name(a.name, "account") for a in accounts)
    names = _names([_Named(a.id, k8s_name(a.name, "account"), ou_names.get(a.parent_id), a.id) for a in accounts],
                   {base for base, n in bases.items() if n > 1})
    for acct in accounts:
        spec: dict[str, Any] = {"accountName": acct.name, "email": acct.email, "accountId": acct.id}
        if acct.parent_id in ou_names:
            spec["orgUnitRef"] = {"name": ou_names[acct.parent_id]}
        tags = _tags(gateway, acct.id)
        if tags:
            spec["tags"] = tags
        spec["deletionPolicy"] = "Retain"
        annotations = {SYNC_OPTIONS: "Prune=false,Delete=false"}
        if acct.id == snap.management_account_id:
            annotations[MANAGEMENT_ACCOUNT] = "true"
        out.accounts.append(_object("AwsAccount", names[acct.id], "2", spec, **annotations))
    return names


def _qualifier(policy_type: str, first: str) -> str | None:
    """What qualifies a policy's name used by two types: nothing for the kind's first type, ``rcp``, or the type
    (``tag``, ``backup``...)."""
    if policy_type == first:
        return None
    return "rcp" if policy_type == POLICY_TYPES[1] else k8s_name(policy_type.removesuffix("_POLICY"), "policy")


def _export_policies(
    gateway: OrganizationsGateway,
    snap: OrgSnapshot,
    dest: list[dict[str, Any]],
    kind: str,
    types: Sequence[str],
    out: Export,
    ou_names: Mapping[str, str],
    account_names: Mapping[str, str],
) -> None:
    """The customer-managed policies of ``types`` as objects of ``kind`` (ServiceControlPolicy, ManagementPolicy)."""
    policies = sorted(
        (p for p in snap.policies.values() if p.type in types and not p.aws_managed),
        key=lambda p: (list(types).index(p.type), p.name.lower(), p.id),
    )
    bases = Counter(k8s_name(p.name, "policy") for p in policies)
    names = _names([_Named(p.id, k8s_name(p.name, "policy"), _qualifier(p.type, types[0]),
                           p.id.removeprefix("p-")) for p in policies], {base for base, n in bases.items() if n > 1})
    for pol in policies:
        try:
            document = json.loads(pol.content or "")
        except ValueError:
            out.skipped.append(f"policy {pol.id} ({pol.name}): its content is not JSON, not exported")
            continue
        targets: dict[str, Any] = {}
        ou_refs = sorted(ou_names[t] for t in pol.target_ids if t in ou_names)
        account_refs = sorted(account_names[t] for t in pol.target_ids if t in account_names)
        ids = sorted(t for t in pol.target_ids if t != snap.root_id and t not in ou_names and t not in account_names)
        if snap.root_id in pol.target_ids:
            targets["root"] = True
        if ou_refs:
            targets["orgUnitRefs"] = [{"name": n} for n in ou_refs]
        if account_refs:
            targets["accountRefs"] = [{"name": n} for n in account_refs]
        if ids:
            targets["ids"] = ids
        spec: dict[str, Any] = {"name": pol.name}
        if pol.description:
            spec["description"] = pol.description
        spec["type"] = pol.type
        spec["document"] = document
        spec["targets"] = targets
        tags = _tags(gateway, pol.id)
        if tags:
            spec["tags"] = tags
        spec["deletionPolicy"] = "Retain"
        dest.append(_object(kind, names[pol.id], "3", spec))


# ------------------------------------------------------------------------------------------------ output


def _render_one(obj: Mapping[str, Any]) -> str:
    text = yaml.dump(dict(obj), Dumper=safeyaml.GoDumper, sort_keys=False, width=120, allow_unicode=True)
    if obj["metadata"]["annotations"].get(MANAGEMENT_ACCOUNT) == "true":
        text = ("# The management account: it is the organization itself and can be neither removed nor closed\n"
                "# through the organization; deletionPolicy Retain keeps it that way.\n") + text
    return text


def render(objects: Sequence[Mapping[str, Any]], header: str = "") -> str:
    """Objects as one multi-document YAML stream."""
    return header + "---\n".join(_render_one(o) for o in objects)


def _header(export: Export, what: str, notes: bool = False) -> str:
    text = (f"# {what} of the AWS organization {export.organization_id}, written by `awsorg export`.\n"
            "# Applying them adopts what exists (accounts by accountId); nothing is created or changed, and\n"
            "# deletionPolicy: Retain keeps it in AWS when an object is deleted.\n")
    if notes and export.notes:
        text += "#\n# Read before committing:\n" + "".join(
            textwrap.fill(" ".join(n.split()), 116, initial_indent="# - ", subsequent_indent="#   ",
                          break_long_words=False, break_on_hyphens=False) + "\n" for n in export.notes)
    if notes and export.calls:
        shown = ", ".join(f"{op} {n}" for op, n in sorted(export.calls.items()))
        text += textwrap.fill(f"Read in the member accounts and CloudTrail: {sum(export.calls.values())} calls "
                              f"({shown}).", 118, initial_indent="# ", subsequent_indent="#   ") + "\n"
    return text


def write_files(export: Export, out: Path) -> list[Path]:
    """One file per kind (``00-orgunits.yaml``, ``10-accounts.yaml``, ``20-policies.yaml``,
    ``25-management-policies.yaml``) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, objects in export.by_kind().items():
        if not objects:
            continue
        path = out / FILES[kind]
        plural = {"Organization": "The organization's own settings", "OrgUnit": "The organizational units",
                  "AwsAccount": "The accounts", "ServiceControlPolicy": "The customer-managed policies",
                  "ManagementPolicy": "The management policies"}[kind]
        path.write_text(render(objects, _header(export, plural, kind == "Organization")), encoding="utf-8")
        written.append(path)
    return written


def render_all(export: Export) -> str:
    objects = [*export.orgunits, *export.accounts, *export.policies, *export.management_policies,
               *export.organization]
    return render(objects, _header(export, "The organizational units, accounts, policies and settings", True))


def export_command(out: Path | None, factory: Factory, access_role: str | None = None,
                   config_regions: Sequence[str] = ()) -> int:
    """``awsorg export [--out DIR] [--access-role NAME] [--config-region R ...]``: same credentials, member role and
    ``AWS_ENDPOINT_URL`` as the operator (``factory``).
    Exit codes: :mod:`controller.workflow.exits` (an export that ``awsorg validate`` refuses is still ``OK``: the
    findings are printed, to fix before applying it)."""
    from controller.settings import SettingsError
    from controller.workflow.plan import plan_member_role_name
    from controller.workflow.validate import format_text, validate_texts

    if (problem := factory.credentials_problem()) is not None:
        print(f"awsorg export: {problem}", file=sys.stderr)
        return exits.FAILED
    try:
        plan_member_role_name(factory.settings.member_role_name)
    except SettingsError as exc:
        print(f"awsorg export: {exc}", file=sys.stderr)
        return exits.FAILED
    try:
        reads = MemberReads(factory.create_recording_members(plan_member_role_name(factory.settings.member_role_name)),
                            factory.create_trail_client, access_role, tuple(config_regions))
        export = export_organization(factory.create_reader(), reads)
    except AwsError as exc:
        print(f"awsorg export: reading the organization failed: {exc}", file=sys.stderr)
        return exits.FAILED
    if out is None:
        texts = [("<stdout>", render_all(export))]
        sys.stdout.write(texts[0][1])
    else:
        paths = write_files(export, out)
        texts = [(str(p), p.read_text(encoding="utf-8")) for p in paths]
        for path in paths:
            print(f"wrote {path}", file=sys.stderr)
    for note in [*export.skipped, *export.notes]:
        print(f"awsorg export: {note}", file=sys.stderr)
    print(f"awsorg export: {len(export.orgunits)} OrgUnits, {len(export.accounts)} AwsAccounts, "
          f"{len(export.policies)} ServiceControlPolicies, {len(export.management_policies)} ManagementPolicies, "
          f"{len(export.organization)} Organization from "
          f"{export.organization_id}", file=sys.stderr)
    report = validate_texts(texts)
    if report.findings:
        print("awsorg export: the export does not pass `awsorg validate` as is; fix these before applying it:",
              file=sys.stderr)
        sys.stderr.write(format_text(report))
    return exits.OK
