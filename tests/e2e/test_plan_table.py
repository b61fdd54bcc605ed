"""The plan a reviewer reads is what the operator then does: a table of pull-request changes.

For each change: the base is applied and converged with the real operator; ``awsorg plan`` of the change
(with ``--base`` and without) is made; the change is applied (objects removed from the files are
deleted, as ArgoCD prunes); then the operator's events must match the plan action for action, the objects'
refusals must match the plan's, and a plan made afterwards must hold no change.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.api.models import CONFIRM_DELETION
from controller.aws.writes import registrations
from controller.reconciler.kinds import PLURALS
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kubeclient import KubeError
from controller.workflow import safeyaml
from controller.workflow.plan import NO_BASE, PlanReport, plan_paths
from tests.e2e.harness import API, Cluster, Operator, condition, confirm_deletion, plan_readers, wait_for

pytestmark = pytest.mark.e2e
# What the operator reports as events when it acts (or deliberately does not) on AWS.
ACTED = {w.reason for w in registrations()} | {"Adopted", "Retained"}

DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}
DENY2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["s3:DeleteBucket", "ec2:*"],
                                                 "Resource": "*"}]}


def ou(object_name: str, aws_name: str | None = None, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "OrgUnit", "metadata": {"name": object_name},
            "spec": {"name": aws_name or object_name.title(), **spec}}


def acct(object_name: str, /, **spec: Any) -> dict[str, Any]:
    spec = {"accountName": object_name.title(), "email": f"{object_name}@example.com", **spec}
    return {"apiVersion": API, "kind": "AwsAccount", "metadata": {"name": object_name}, "spec": spec}


def scp(object_name: str, ous: list[str], document: dict[str, Any] = DENY, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ServiceControlPolicy", "metadata": {"name": object_name},
            "spec": {"document": document, "targets": {"orgUnitRefs": [{"name": n} for n in ous]}, **spec}}


@dataclass
class Case:
    why: str
    base: list[dict[str, Any]]
    head: list[dict[str, Any]]
    expect: set[str]  # reasons the plan must show (action or refusal), so a case cannot pass by planning nothing
    setup: Callable[[AwsSandbox], None] | None = None
    api_refuses: bool = False  # the API server refuses the change itself (an immutable field)
    confirm: bool = False  # the base's accounts carry CONFIRM_DELETION naming their id once known (Close, Remove)


def org(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": "organization"}, "spec": spec}


TRUSTED_LOGGING = {"trustedServices": ["cloudtrail.amazonaws.com", "config.amazonaws.com"],
                   "delegatedAdministrators": [{"accountRef": {"name": "shared"},
                                                "servicePrincipal": "config.amazonaws.com"}]}


def logging(**spec: Any) -> dict[str, Any]:
    """spec.centralLogging with Shared Services ('shared') as the log archive."""
    return {"accountRef": {"name": "shared"}, "bucketName": "plan-table-logs", **spec}


ENGINEER = {"roleName": "Engineer", "trustedPrincipals": ["arn:aws:iam::123456789012:root"],
            "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}


def _member_and_user(aws: AwsSandbox) -> None:
    """A member account made outside Git (it gets the access role too) and the user the changed role trusts."""
    aws.client().create_account(AccountName="Legacy", Email="legacy@example.com")
    aws.service_client("iam").create_user(UserName="alice")


def _trust_account_api(aws: AwsSandbox) -> None:
    aws.client().enable_aws_service_access(ServicePrincipal="account.amazonaws.com")


def _existing_ou(aws: AwsSandbox) -> None:
    aws.client().create_organizational_unit(ParentId=aws.ids["root_id"], Name="Legacy")


CASES = {
    "rename-ou": Case("an OU renamed in place, never created anew",
                      [ou("prod", "Production")], [ou("prod", "Prod Workloads")], {"Renamed"}),
    "nested-ou": Case("a child OU under an existing one, created under it",
                      [ou("workloads")], [ou("workloads"), ou("team", parentRef={"name": "workloads"})], {"Created"}),
    "rename-scp": Case("a policy renamed in place",
                       [ou("a"), scp("guard", ["a"], name="guard")], [ou("a"), scp("guard", ["a"], name="guard-v2")],
                       {"Updated"}),
    "edit-document": Case("a policy document edited, shown as a diff",
                          [ou("a"), scp("guard", ["a"])], [ou("a"), scp("guard", ["a"], DENY2)], {"Updated"}),
    "detach-target": Case("a target removed from a policy is detached (FullAWSAccess stays there)",
                          [ou("a"), ou("b"), scp("guard", ["a", "b"])], [ou("a"), ou("b"), scp("guard", ["a"])],
                          {"Detached"}),
    "eleventh-scp": Case("an eleventh SCP on an OU is refused before any call",
                         [ou("a"), *(scp(f"g{i}", ["a"]) for i in range(9))],
                         [ou("a"), *(scp(f"g{i}", ["a"]) for i in range(10))], {"LimitExceeded"}),
    "move-account": Case("an account moved to another OU",
                         [ou("a"), ou("b"), acct("dev", orgUnitRef={"name": "a"})],
                         [ou("a"), ou("b"), acct("dev", orgUnitRef={"name": "b"})], {"Moved"}),
    "new-account": Case("a new account is created, then moved into its OU; it is not also reported adopted",
                        [ou("a")], [ou("a"), acct("dev", orgUnitRef={"name": "a"})], {"CreateAccountStarted", "Moved"}),
    "email-change": Case("an email change is refused (immutable), nothing created",
                         [acct("dev")], [acct("dev", email="dev-new@example.com")], {"InvalidSpec"},
                         api_refuses=True),
    "rename-account-and-tags": Case("an account renamed and retagged in one edit",
                                    [acct("dev", tags={"cost": "a"})],
                                    [acct("dev", accountName="Development", tags={"cost": "b"})],
                                    {"Renamed", "Tagged"}, setup=_trust_account_api),
    "delete-ou": Case("an OU removed from the files is deleted (deletionPolicy Delete)",
                      [ou("a"), ou("gone")], [ou("a")], {"Deleted"}),
    "retain-ou": Case("an OU removed under deletionPolicy Retain stays in AWS",
                      [ou("a"), ou("kept", deletionPolicy="Retain")], [ou("a")], {"Retained"}),
    "retain-account": Case("an account removed under the default Retain is forgotten, not closed",
                           [acct("dev")], [], {"Retained"}),
    "close-account": Case("an account removed under deletionPolicy Close, confirmed by its id, is closed",
                          [acct("dev", deletionPolicy="Close")], [], {"Closed"}, confirm=True),
    "close-account-unconfirmed": Case(
        "an account removed under deletionPolicy Close without the confirmation annotation is not closed (the plan "
        "says what to add)", [acct("dev", deletionPolicy="Close")], [], {"DeletionNotConfirmed"}),
    "remove-account": Case("an account removed under RemoveFromOrganization, confirmed, leaves the organization",
                           [acct("dev", deletionPolicy="RemoveFromOrganization")], [], {"Removed"},
                           setup=lambda aws: setattr(aws.quotas, "standalone_by_default", True), confirm=True),
    "delete-scp": Case("a policy removed from the files is detached, then deleted",
                       [ou("a"), scp("guard", ["a"])], [ou("a")], {"Detached", "Deleted"}),
    "retain-scp": Case("a policy removed under deletionPolicy Retain keeps its attachments",
                       [ou("a"), scp("guard", ["a"], deletionPolicy="Retain")], [ou("a")], {"Retained"}),
    "duplicate-ou": Case("a second OrgUnit declaring the same OU is refused; the first keeps it",
                         [ou("a", "Workloads")], [ou("a", "Workloads"), ou("b", "Workloads")], {"DuplicateName"}),
    "cycle": Case("a parentRef cycle is refused naming the chain, nothing created",
                  [], [ou("x", parentRef={"name": "y"}), ou("y", parentRef={"name": "x"})], {"ReferenceCycle"}),
    "adopt": Case("an OU that exists in AWS is adopted, not created",
                  [], [ou("legacy")], {"Adopted"}, setup=_existing_ou),
    "organization-baseline": Case(
        "the Organization: a policy type, trusted access, a delegated administrator and the access role (created in "
        "the member account, its policy attached)",
        [acct("shared")],
        [acct("shared"), org(policyTypes=["SERVICE_CONTROL_POLICY"], trustedServices=["config.amazonaws.com"],
                             delegatedAdministrators=[{"accountRef": {"name": "shared"},
                                                       "servicePrincipal": "config.amazonaws.com"}],
                             accessRole=ENGINEER)],
        {"PolicyTypeEnabled", "TrustedAccessEnabled", "DelegatedAdministratorRegistered", "AccessRoleCreated",
         "AccessRolePolicyAttached"}),
    "access-role-changed": Case(
        "the access role's trust policy and managed policies changed in every member account (one no object declares)",
        [org(accessRole=ENGINEER)],
        [org(accessRole={**ENGINEER, "trustedPrincipals": ["arn:aws:iam::123456789012:user/alice"],
                         "managedPolicyArns": ["arn:aws:iam::aws:policy/SecurityAudit"]})],
        {"AccessRoleTrustPolicyUpdated", "AccessRolePolicyAttached", "AccessRolePolicyDetached"},
        setup=_member_and_user),
    "central-logging-added": Case(
        "centralLogging added to an Organization: the bucket, its settings and policy, the organization trail "
        "logging, AWS Config in every member account and the aggregator, in that order",
        [acct("shared"), org(**TRUSTED_LOGGING)],
        [acct("shared"), org(**TRUSTED_LOGGING, centralLogging=logging(retentionDays=365))],
        {"LogBucketCreated", "LogBucketEncrypted", "LogBucketVersioned", "LogBucketPublicAccessBlocked",
         "LogBucketRetentionSet", "LogBucketPolicySet", "TrailConfigured", "TrailLoggingStarted",
         "ConfigRecorderConfigured", "AggregatorCreated"}),
    "retention-raised": Case(
        "centralLogging.retentionDays raised: only the bucket's lifecycle is put (the trail, recorders and "
        "aggregator, read from AWS, are as declared)",
        [acct("shared"), org(**TRUSTED_LOGGING, centralLogging=logging(retentionDays=90))],
        [acct("shared"), org(**TRUSTED_LOGGING, centralLogging=logging(retentionDays=365))],
        {"LogBucketRetentionSet"}),
    "retention-lowered": Case(
        "centralLogging.retentionDays lowered: the administrator's policy refuses it by default (it would expire "
        "logs already written), in the plan as in the operator, and nothing is put",
        [acct("shared"), org(**TRUSTED_LOGGING, centralLogging=logging(retentionDays=365))],
        [acct("shared"), org(**TRUSTED_LOGGING, centralLogging=logging(retentionDays=90))],
        {"ForbiddenByPolicy"}),
}


def _write(directory: Path, objects: list[dict[str, Any]]) -> Path:
    directory.mkdir()
    (directory / "objects.yaml").write_text(safeyaml.dump_all(objects) if objects else "")  # "y" quoted
    return directory


def _apply(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """What ``kubectl apply`` does with the whole spec: created, or replaced (fields removed are gone)."""
    for obj in objects:
        plural = PLURALS[obj["kind"]]
        current = cluster.get(plural, obj["metadata"]["name"])
        if current is None:
            cluster.client.create(obj)
        else:
            cluster.client.replace(plural, obj["metadata"]["name"], {**current, "spec": obj["spec"]})


def _confirmed(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    """An AwsAccount of the base with the confirmation naming the id it was bound to, in the cluster and in Git."""
    if obj["kind"] != "AwsAccount":
        return obj
    account_id = cluster.get("awsaccounts", obj["metadata"]["name"])["status"]["id"]  # type: ignore[index]
    confirm_deletion(cluster, obj["metadata"]["name"], account_id)
    return {**obj, "metadata": {**obj["metadata"], "annotations": {CONFIRM_DELETION: account_id}}}


def _settled(cluster: Cluster, objects: list[dict[str, Any]], refusals: dict[tuple[str, str], str]) -> bool:
    for obj in objects:
        got = cluster.get(PLURALS[obj["kind"]], obj["metadata"]["name"])
        synced = condition(got, "Synced")
        key = (obj["kind"], obj["metadata"]["name"])
        if got is None or synced is None or got["status"].get("observedGeneration") != got["metadata"]["generation"]:
            return False
        if key in refusals:
            if synced["reason"] != refusals[key]:
                return False
        elif condition(got, "Ready")["status"] != "True":  # type: ignore[index]
            return False
    return True


def _posted(cluster: Cluster) -> set[str]:
    """The events posted so far, once kopf's poster (which runs behind the status patches) has caught up."""
    last: set[str] = set()

    def quiet() -> bool:
        nonlocal last
        now = {e["metadata"]["name"] for e in cluster.client.events()}
        settled, last = now == last, now
        return settled

    wait_for(quiet, timeout=10, interval=0.5, what="events to settle")
    return last


def _acted(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"]) for e in events
                  if e.get("reason") in ACTED)


def _planned(report: PlanReport) -> list[tuple[str, str, str]]:
    return sorted((c.kind, c.name, c.reason) for c in report.changes if c.reason in ACTED)


def _refused(report: PlanReport) -> dict[tuple[str, str], str]:
    return {(c.kind, c.name): c.reason for c in report.problems}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_plan_is_what_the_operator_does(case: Case, aws: AwsSandbox, cluster: Cluster, operator: Operator,
                                        tmp_path: Path) -> None:
    if case.setup:
        case.setup(aws)
    _apply(cluster, case.base)
    wait_for(lambda: _settled(cluster, case.base, {}), timeout=40, what="the base to be Ready")
    if case.confirm:
        case = dataclasses.replace(case, base=[_confirmed(cluster, obj) for obj in case.base])
    seen = _posted(cluster)

    base_dir, head_dir = _write(tmp_path / "base", case.base), _write(tmp_path / "head", case.head)
    aws.reset_calls()
    readers = plan_readers(aws)
    plan = plan_paths([head_dir], aws.client(), base=[base_dir], **readers)
    blind = plan_paths([head_dir], aws.client(), **readers)
    # The plan never writes: it reads the organization, and the access role in member accounts.
    assert all(call.startswith(("List", "Describe", "Get")) or call == "AssumeRole" for call in aws.calls), aws.calls
    assert case.expect <= {c.reason for c in [*plan.changes, *plan.problems]}, (case.why, plan)
    created = {(c.kind, c.name) for c in plan.changes if c.symbol == "+"}
    assert not [c for c in plan.changes if c.reason == "Adopted" and (c.kind, c.name) in created], plan.changes

    # Without a base, the plan says what it cannot know, and shows nothing the operator would not do: its
    # changes are those of the plan with the base, except for objects whose creation it flags as possibly a
    # rename.
    assert NO_BASE in blind.notes and NO_BASE not in plan.notes
    maybe_renamed = {(c.kind, c.name) for c in blind.changes if "a rename looks the same" in c.text}
    for change in blind.changes:
        assert (change.kind, change.name, change.reason) in set(_planned(plan)) or (
            (change.kind, change.name) in maybe_renamed), change

    if case.api_refuses:
        with pytest.raises(KubeError) as refused:
            _apply(cluster, case.head)
        assert refused.value.status == 422
        assert not _planned(plan) and _refused(plan)  # refused in the plan too, with nothing else to do
        return
    _apply(cluster, case.head)
    head_names = {(o["kind"], o["metadata"]["name"]) for o in case.head}
    for obj in case.base:
        if (obj["kind"], obj["metadata"]["name"]) not in head_names:
            cluster.client.delete(PLURALS[obj["kind"]], obj["metadata"]["name"])
    refusals = _refused(plan)
    kept = {key for key in refusals if key not in head_names}  # deletions the plan refuses: the objects stay
    for obj in case.base:
        if (key := (obj["kind"], obj["metadata"]["name"])) not in head_names and key not in kept:
            cluster.wait_gone(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=30)
    for kind, name in kept:
        cluster.wait_reason(PLURALS[kind], name, "Synced", refusals[(kind, name)])
    wait_for(lambda: _settled(cluster, case.head, refusals), timeout=40, what="the change to converge")

    acted: list[tuple[str, str, str]] = []

    def done() -> bool:
        acted[:] = _acted([e for e in cluster.client.events() if e["metadata"]["name"] not in seen])
        return acted == _planned(plan)

    with contextlib.suppress(AssertionError):
        wait_for(done, timeout=10)
    assert acted == _planned(plan), case.why
    for (kind, name), reason in refusals.items():
        got = cluster.get(PLURALS[kind], name)
        assert condition(got, "Synced")["reason"] == reason  # type: ignore[index]

    after = plan_paths([head_dir], aws.client(), base=[head_dir], **readers)
    assert not after.changes, after.changes
    assert _refused(after) == {key: reason for key, reason in refusals.items() if key not in kept}
    for change in plan.changes:
        if change.reason == "Updated" and "content" in change.text:  # an edited document is shown as a diff
            added = [line for line in change.detail.splitlines() if line.startswith("+")]
            assert any('"ec2:*"' in line for line in added) and "--- AWS now" in change.detail, change.detail
