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
delegated administrator).  ``accessRole`` is not exported: which role in the member accounts is "the" access role
is a decision, not a fact AWS holds; nor, yet, is ``centralLogging``.

The YAML is written for kubectl (:class:`~controller.workflow.safeyaml.GoDumper`): every string go-yaml or YAML 1.1
would read as something else is quoted (``accountId: '049474891394'``: unquoted, kubectl sends a number), unicode
is written as it is, and names keep AWS's spelling in ``spec`` while object names transliterate it (``Données`` ->
``donnees``).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.api.limits import MANAGEMENT_POLICY_TYPES
from controller.api.models import API_VERSION, GROUP, ORGANIZATION_NAME
from controller.aws.errors import AwsError
from controller.aws.factory import Factory
from controller.aws.gateway import OrganizationsGateway
from controller.planner.organization import ALL, DELEGATED_ADMIN_PRINCIPALS
from controller.planner.tags import is_aws_reserved
from controller.state import OrgSnapshot
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


def export_organization(gateway: OrganizationsGateway) -> Export:
    """Read the organization (List*/Describe* calls only) and describe it as objects."""
    snap = gateway.snapshot()
    out = Export(snap.organization_id)
    ou_names = _export_orgunits(gateway, snap, out)
    account_names = _export_accounts(gateway, snap, out, ou_names)
    _export_policies(gateway, snap, out.policies, "ServiceControlPolicy", POLICY_TYPES, out, ou_names, account_names)
    _export_policies(gateway, snap, out.management_policies, "ManagementPolicy", MANAGEMENT_POLICY_TYPES, out,
                     ou_names, account_names)
    _export_organization(gateway, snap, out, account_names)
    return out


def _export_organization(gateway: OrganizationsGateway, snap: OrgSnapshot, out: Export,
                         account_names: Mapping[str, str]) -> None:
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


def _header(export: Export, what: str) -> str:
    return (f"# {what} of the AWS organization {export.organization_id}, written by `awsorg export`.\n"
            "# Applying them adopts what exists (accounts by accountId); nothing is created or changed, and\n"
            "# deletionPolicy: Retain keeps it in AWS when an object is deleted.\n")


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
        path.write_text(render(objects, _header(export, plural)), encoding="utf-8")
        written.append(path)
    return written


def render_all(export: Export) -> str:
    objects = [*export.orgunits, *export.accounts, *export.policies, *export.management_policies,
               *export.organization]
    return render(objects, _header(export, "The organizational units, accounts, policies and settings"))


def export_command(out: Path | None, factory: Factory) -> int:
    """``awsorg export [--out DIR]``: same credentials and ``AWS_ENDPOINT_URL`` as the operator (``factory``).
    Exit codes: :mod:`controller.workflow.exits` (an export that ``awsorg validate`` refuses is still ``OK``: the
    findings are printed, to fix before applying it)."""
    from controller.workflow.validate import format_text, validate_texts

    if (problem := factory.credentials_problem()) is not None:
        print(f"awsorg export: {problem}", file=sys.stderr)
        return exits.FAILED
    try:
        export = export_organization(factory.create_reader())
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
    for note in export.skipped:
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
