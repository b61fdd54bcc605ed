"""``awsorg export`` against the strict AWS sandbox: an organization written out as objects, read-only."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow.export import _Named, _names, k8s_name
from tests.sandbox.test_kube_kubectl import KUBECTL

ROOT = Path(__file__).resolve().parents[1]

DENY_ROOT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyRootUser",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}},
        }
    ],
}


def _account(org: Any, name: str, email: str, parent: str, tags: dict[str, str]) -> str:
    status = org.create_account(
        AccountName=name, Email=email, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )["CreateAccountStatus"]
    final = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert final["State"] == "SUCCEEDED", final
    account_id = str(final["AccountId"])
    root = org.list_roots()["Roots"][0]["Id"]
    org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
    return account_id


@pytest.fixture
def organization(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Root / Workloads / Production (2 levels) and Root / Infrastructure; two accounts; one SCP."""
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWSORG_ASSUME_ROLE_ARN", raising=False)
    org = aws.client()
    root = aws.ids["root_id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")

    def ou(parent: str, name: str, **tags: str) -> str:
        args: dict[str, Any] = {"ParentId": parent, "Name": name}
        if tags:
            args["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return str(org.create_organizational_unit(**args)["OrganizationalUnit"]["Id"])

    workloads = ou(root, "Workloads", owner="platform")
    production = ou(workloads, "Production", environment="production")
    infrastructure = ou(root, "Infrastructure")
    prod_acct = _account(org, "Production", "aws-prod@example.com", production, {"environment": "production"})
    shared = _account(org, "Shared Services", "aws-shared@example.com", infrastructure, {"cost-center": "42"})
    policy = org.create_policy(
        Name="deny-root-user", Description="Deny the root user", Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(DENY_ROOT), Tags=[{"Key": "guardrail", "Value": "root"}],
    )["Policy"]["PolicySummary"]["Id"]
    for target in (production, shared, root):
        org.attach_policy(PolicyId=policy, TargetId=target)
    for principal in ("cloudtrail.amazonaws.com", "config.amazonaws.com"):
        org.enable_aws_service_access(ServicePrincipal=principal)
    org.register_delegated_administrator(AccountId=shared, ServicePrincipal="config.amazonaws.com")
    aws.reset_calls()
    return {
        "root": root, "workloads": workloads, "production": production, "infrastructure": infrastructure,
        "prod_acct": prod_acct, "shared": shared, "policy": policy,
    }


def _by_name(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_export_writes_the_organization_as_objects(
    aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "landing-zone"
    assert main(["export", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["00-organization.yaml", "00-orgunits.yaml", "10-accounts.yaml",
                                                     "20-policies.yaml"]

    # Read-only: the snapshot and the tags, nothing else.
    assert aws.calls, "export read nothing"
    assert all(call.startswith(("List", "Describe")) for call in aws.calls), aws.calls

    objects = [d for f in sorted(out.iterdir()) for d in yaml.safe_load_all(f.read_text()) if d]
    ous = _by_name(objects, "OrgUnit")
    assert set(ous) == {"workloads", "production", "infrastructure"}
    assert ous["workloads"]["spec"] == {"name": "Workloads", "tags": {"owner": "platform"}, "deletionPolicy": "Retain"}
    assert ous["production"]["spec"] == {
        "name": "Production", "parentRef": {"name": "workloads"}, "tags": {"environment": "production"},
        "deletionPolicy": "Retain",
    }
    assert "parentRef" not in ous["infrastructure"]["spec"]
    assert {o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] for o in ous.values()} == {"1"}

    accounts = _by_name(objects, "AwsAccount")
    assert set(accounts) == {"production", "shared-services", "master"}
    prod = accounts["production"]
    assert prod["spec"] == {
        "accountName": "Production", "email": "aws-prod@example.com", "accountId": organization["prod_acct"],
        "orgUnitRef": {"name": "production"}, "tags": {"environment": "production"}, "deletionPolicy": "Retain",
    }
    assert accounts["shared-services"]["spec"]["orgUnitRef"] == {"name": "infrastructure"}
    assert accounts["shared-services"]["spec"]["accountId"] == organization["shared"]
    for acct in accounts.values():
        assert acct["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "2"
        assert acct["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
        assert acct["spec"]["deletionPolicy"] == "Retain"
    management = accounts["master"]
    assert management["spec"]["accountId"] == aws.ids["management_account_id"]
    assert management["metadata"]["annotations"]["awsorg.gitops.dev/management-account"] == "true"
    assert "orgUnitRef" not in management["spec"]
    assert "# The management account" in (out / "10-accounts.yaml").read_text()

    policies = _by_name(objects, "ServiceControlPolicy")
    assert set(policies) == {"deny-root-user"}, "FullAWSAccess (AWS-managed) is not exported"
    spec = policies["deny-root-user"]["spec"]
    assert spec["document"] == DENY_ROOT
    assert spec["name"] == "deny-root-user" and spec["description"] == "Deny the root user"
    assert spec["type"] == "SERVICE_CONTROL_POLICY"
    assert spec["targets"] == {
        "root": True, "orgUnitRefs": [{"name": "production"}], "accountRefs": [{"name": "shared-services"}],
    }
    assert spec["tags"] == {"guardrail": "root"}
    assert spec["deletionPolicy"] == "Retain"
    # The organization's settings as they are today; the delegated administrator as a reference to its account.
    assert _by_name(objects, "Organization")["organization"]["spec"] == {
        "featureSet": "ALL", "policyTypes": ["SERVICE_CONTROL_POLICY"],
        "trustedServices": ["cloudtrail.amazonaws.com", "config.amazonaws.com"],
        "delegatedAdministrators": [{"accountRef": {"name": "shared-services"},
                                     "servicePrincipal": "config.amazonaws.com"}],
        "deletionPolicy": "Retain"}
    # Every object, of every kind, leaves AWS as it is when it is deleted (an ArgoCD prune, a file removed).
    assert {o["kind"] for o in objects} == {"OrgUnit", "AwsAccount", "ServiceControlPolicy", "Organization"}
    assert all(o["spec"]["deletionPolicy"] == "Retain" for o in objects)
    assert policies["deny-root-user"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "3"

    # The export passes `awsorg validate` as is (and export said nothing about it).
    assert "does not pass" not in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_export_to_stdout_is_one_multi_document_stream(
    aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export"]) == 0
    text = capsys.readouterr().out
    objects = [d for d in yaml.safe_load_all(text) if d]
    assert [o["kind"] for o in objects] == ["OrgUnit"] * 3 + ["AwsAccount"] * 3 + ["ServiceControlPolicy",
                                                                                    "Organization"]
    # Parents come before their children, so the stream reads top-down.
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "OrgUnit"]
    assert names.index("workloads") < names.index("production")
    assert all(call.startswith(("List", "Describe")) for call in aws.calls), aws.calls
    (tmp_path / "all.yaml").write_text(text)
    assert main(["validate", str(tmp_path / "all.yaml")]) == 0


def test_export_names_are_dns_safe_and_unique(
    aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = aws.client()
    # A second "Production" under another parent, and names that need cleaning up.
    org.create_organizational_unit(ParentId=organization["infrastructure"], Name="Production")
    org.create_organizational_unit(ParentId=organization["root"], Name="Sandbox & Labs_2")
    aws.reset_calls()
    assert main(["export", "--out", str(tmp_path)]) == 0
    ous = _by_name(list(yaml.safe_load_all((tmp_path / "00-orgunits.yaml").read_text())), "OrgUnit")
    assert {"workloads-production", "infrastructure-production", "sandbox-labs-2"} <= set(ous)
    assert ous["infrastructure-production"]["spec"] == {"name": "Production", "parentRef": {"name": "infrastructure"},
                                                        "deletionPolicy": "Retain"}
    accounts = _by_name(list(yaml.safe_load_all((tmp_path / "10-accounts.yaml").read_text())), "AwsAccount")
    assert accounts["production"]["spec"]["orgUnitRef"] == {"name": "workloads-production"}
    assert main(["validate", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("aws_name", "expected"),
    [("Non-Production", "non-production"), ("Shared Services", "shared-services"), ("--", "ou"),
     ("A" * 80, "a" * 63), ("team.ops", "team-ops"), ("Équipe Sécurité", "equipe-securite"), ("Ørsted", "rsted")],
)
def test_k8s_name(aws_name: str, expected: str) -> None:
    assert k8s_name(aws_name, "ou") == expected


def test_exported_objects_plan_to_no_change(aws: AwsSandbox, organization: dict[str, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Applying an export changes nothing in AWS: the plan of the exported files is empty."""
    out = tmp_path / "export"
    assert main(["export", "--out", str(out)]) == 0
    capsys.readouterr()
    aws.reset_calls()
    assert main(["plan", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("No changes: AWS matches the files."), text
    assert all(call.startswith(("List", "Describe")) for call in aws.calls), aws.calls


def test_removing_exported_objects_deletes_nothing_in_aws(aws: AwsSandbox, organization: dict[str, str],
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What an ArgoCD prune of adopted objects does: with deletionPolicy Retain, nothing is detached or deleted."""
    aws.client().create_organizational_unit(ParentId=organization["root"], Name="Sandbox")  # empty: deletable
    aws.reset_calls()
    out = tmp_path / "export"
    assert main(["export", "--out", str(out)]) == 0
    after = tmp_path / "after"
    after.mkdir()
    (after / "10-accounts.yaml").write_text((out / "10-accounts.yaml").read_text())
    ous = [o for o in yaml.safe_load_all((out / "00-orgunits.yaml").read_text()) if o["metadata"]["name"] != "sandbox"]
    (after / "00-orgunits.yaml").write_text(yaml.safe_dump_all(ous))  # OrgUnit/sandbox and the SCP file removed
    capsys.readouterr()
    assert main(["plan", "--output", "json", "--base", str(out), str(after)]) == 0
    plan = json.loads(capsys.readouterr().out)
    removed = [c for c in plan["changes"] if c["kind"] in ("OrgUnit", "ServiceControlPolicy")]
    assert removed, plan
    assert not [c for c in removed if c["symbol"] != "-" or "delete" in c["text"] or "detach" in c["text"]], removed
    assert all(call.startswith(("List", "Describe")) for call in aws.calls), aws.calls


def _export(out: Path, capsys: pytest.CaptureFixture[str]) -> dict[tuple[str, str], dict[str, Any]]:
    assert main(["export", "--out", str(out)]) == 0
    capsys.readouterr()
    return {(o["kind"], o["metadata"]["name"]): o for f in sorted(out.iterdir())
            for o in yaml.safe_load_all(f.read_text()) if o}


def test_the_same_organization_exports_the_same_files(aws: AwsSandbox, organization: dict[str, str],
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = aws.client()
    for parent in (organization["workloads"], organization["infrastructure"], organization["root"]):
        org.create_organizational_unit(ParentId=parent, Name="Team")  # a name used three times
    _export(tmp_path / "first", capsys)
    _export(tmp_path / "second", capsys)
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "second").iterdir()}
    assert main(["export"]) == 0
    stream = capsys.readouterr().out
    assert main(["export"]) == 0
    assert capsys.readouterr().out == stream


def test_adding_unrelated_objects_renames_nothing(aws: AwsSandbox, organization: dict[str, str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    org = aws.client()
    org.create_organizational_unit(ParentId=organization["production"], Name="Production")  # qualified already
    before = _export(tmp_path / "before", capsys)
    # New OUs at every level, an account, a policy: none shares a name with what exists.
    sandbox = org.create_organizational_unit(ParentId=organization["root"], Name="Sandbox")["OrganizationalUnit"]
    org.create_organizational_unit(ParentId=sandbox["Id"], Name="Experiments")
    org.create_organizational_unit(ParentId=organization["production"], Name="Payments")
    org.create_organizational_unit(ParentId=organization["root"], Name="Workloads Archive")
    _account(aws.client(), "Lab", "aws-lab@example.com", sandbox["Id"], {})
    org.create_policy(Name="deny-leaving", Description="", Type="SERVICE_CONTROL_POLICY",
                      Content=json.dumps(DENY_ROOT))
    after = _export(tmp_path / "after", capsys)
    assert set(before) <= set(after)
    for key, obj in before.items():
        assert after[key]["spec"] == obj["spec"], key
    assert {name for kind, name in set(after) - set(before)} == {
        "sandbox", "experiments", "payments", "workloads-archive", "lab", "deny-leaving"}


def test_names_used_twice_are_qualified_by_their_parent_then_their_id(
    aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = aws.client()
    # Accounts: "Sandbox" in two OUs (qualified by the OU), "Lab" twice in one OU (and then by the account id).
    sandbox_prod = _account(org, "Sandbox", "aws-sb1@example.com", organization["production"], {})
    sandbox_infra = _account(org, "Sandbox", "aws-sb2@example.com", organization["infrastructure"], {})
    labs = [_account(org, "Lab", f"aws-lab{i}@example.com", organization["infrastructure"], {}) for i in (1, 2)]
    # Policies: one name for an SCP and an RCP (the RCP is qualified); two SCP names with one spelling.
    org.enable_policy_type(RootId=organization["root"], PolicyType="RESOURCE_CONTROL_POLICY")
    rcp_document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    org.create_policy(Name="deny-root-user", Description="", Type="RESOURCE_CONTROL_POLICY",
                      Content=json.dumps(rcp_document))
    spelled = org.create_policy(Name="Deny_Root_User", Description="", Type="SERVICE_CONTROL_POLICY",
                                Content=json.dumps(DENY_ROOT))["Policy"]["PolicySummary"]["Id"]
    objects = _export(tmp_path / "export", capsys)
    accounts = {o["spec"]["accountId"]: name for (kind, name), o in objects.items() if kind == "AwsAccount"}
    assert accounts[sandbox_prod] == "production-sandbox"
    assert accounts[sandbox_infra] == "infrastructure-sandbox"
    assert sorted(accounts[i] for i in labs) == sorted(f"infrastructure-lab-{i}" for i in labs)
    assert accounts[organization["prod_acct"]] == "production"  # a name used once stays as it is
    policies = {(o["spec"]["type"], o["spec"]["name"]): name
                for (kind, name), o in objects.items() if kind == "ServiceControlPolicy"}
    assert policies[("RESOURCE_CONTROL_POLICY", "deny-root-user")] == "rcp-deny-root-user"
    assert policies[("SERVICE_CONTROL_POLICY", "deny-root-user")] == f"deny-root-user-{organization['policy'][2:]}"
    assert policies[("SERVICE_CONTROL_POLICY", "Deny_Root_User")] == f"deny-root-user-{spelled[2:]}"
    assert main(["validate", str(tmp_path / "export")]) == 0


def test_names_do_not_depend_on_the_order_of_the_objects() -> None:
    items = [_Named("ou-a-1", "production", "workloads", "1"), _Named("ou-a-2", "production", "infrastructure", "2"),
             _Named("ou-a-3", "sandbox", None, "3"), _Named("ou-a-4", "sandbox", None, "4"),
             _Named("ou-a-5", "team", "x", "5")]
    repeated = {"production", "sandbox"}
    expected = {"ou-a-1": "workloads-production", "ou-a-2": "infrastructure-production", "ou-a-3": "sandbox-3",
                "ou-a-4": "sandbox-4", "ou-a-5": "team"}
    for order in itertools.permutations(items):
        assert _names(order, repeated) == expected
    # A name given at a shallower level is taken: the deeper object gets its id.
    assert _names(items[4:], repeated, taken={"team"}) == {"ou-a-5": "team-5"}


def test_an_export_applies_with_the_real_kubectl_and_plans_empty(
        aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ids starting with 0 (one AWS account id in ten) and accented names: every string kubectl would read as
    something else is quoted, names are kept as AWS has them, and the API server admits every object."""
    org = aws.client()
    # AWS's account names are ASCII (AccountName: [\\u0020-\\u007E]+); OU names and policy descriptions are any text.
    org.create_organizational_unit(ParentId=organization["root"], Name="Données")
    org.create_policy(Name="securite-first", Description="Écrite à la main", Type="SERVICE_CONTROL_POLICY",
                      Content=json.dumps(DENY_ROOT))
    out = tmp_path / "export"
    objects = _export(out, capsys)
    text = (out / "10-accounts.yaml").read_text(encoding="utf-8")
    written = (out / "00-orgunits.yaml").read_text(encoding="utf-8") + (out / "20-policies.yaml").read_text("utf-8")
    assert "name: Données" in written and "Écrite à la main" in written and "\\u" not in written  # as written
    ids = [o["spec"]["accountId"] for (kind, _), o in objects.items() if kind == "AwsAccount"]
    for account_id in ids:
        assert f"accountId: '{account_id}'" in text  # quoted, whatever its first digit
    assert objects[("OrgUnit", "donnees")]["spec"]["name"] == "Données"
    assert objects[("ServiceControlPolicy", "securite-first")]["spec"]["description"] == "Écrite à la main"
    leading_zero = "012345678901"  # what go-yaml makes of such a text unquoted: a number
    from controller.workflow import safeyaml
    assert safeyaml.go_tag(leading_zero) != "tag:yaml.org,2002:str"
    from controller.workflow.export import render
    rendered = render([{"metadata": {"name": "x", "annotations": {}}, "spec": {"accountId": leading_zero}}])
    assert next(safeyaml.safe_load_all(rendered))["spec"]["accountId"] == leading_zero
    if KUBECTL is not None:
        from controller.sandbox.kube import KubeSandbox
        from tests.sandbox.test_kube_kubectl import make_kubectl

        crds = [doc for path in sorted((ROOT / "crds").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
        with KubeSandbox(crds) as sandbox:
            kubectl = make_kubectl(sandbox, tmp_path)
            applied = kubectl("apply", "-f", str(out))
            assert applied.stdout.count(" created") == len(objects), applied.stdout
            stored = json.loads(kubectl("get", "awsaccounts", "-o", "json").stdout)["items"]
            assert sorted(a["spec"]["accountId"] for a in stored) == sorted(ids)
            ou = json.loads(kubectl("get", "orgunit", "donnees", "-o", "json").stdout)
            assert ou["spec"]["name"] == "Données"
    aws.reset_calls()
    assert main(["plan", str(out)]) == 0
    plan = capsys.readouterr().out
    assert plan.startswith("No changes: AWS matches the files."), plan


ACCESS_ROLE = "platform-admin"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _baseline(aws: AwsSandbox, archive: str, members: list[str]) -> None:
    """The baseline as the operator builds it, with the gateway's own writes (in AWS's order): the log bucket in
    ``archive``, the organization trail, AWS Config in every member account, the aggregator; and an access role
    (MFA condition, a longer session) in every member account."""
    from controller.aws.central_logging import CentralLoggingGateway
    from controller.aws.member import MemberAccounts
    from controller.aws.session import cloudtrail_client, iam_client, member_service_client, sts_client
    from controller.planner.central_logging import DesiredLogging, bucket_policy, policy_text

    region, bucket = "us-east-1", "org-logs-export"
    logs = CentralLoggingGateway(MemberAccounts(sts_client(), iam_client, clients=member_service_client),
                                 cloudtrail_client)
    desired = DesiredLogging(archive, bucket, region, 400, "org-trail", (region,), "org-aggregator")
    logs.create_bucket(archive, region, bucket)
    logs.put_bucket_encryption(archive, region, bucket)
    logs.put_bucket_versioning(archive, region, bucket)
    logs.block_public_access(archive, region, bucket)
    logs.put_retention(archive, region, bucket, 400)
    logs.put_bucket_policy(archive, region, bucket, policy_text(bucket_policy(
        desired, str(aws.ids["organization_id"]), str(aws.ids["management_account_id"]))))
    logs.create_trail(region, "org-trail", bucket)
    logs.start_logging(region, "org-trail")
    for account_id in members:
        logs.ensure_recorder(account_id, region, bucket, None, global_resources=True)
    logs.put_aggregator(archive, region, "org-aggregator")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.ids['management_account_id']}:root"},
        "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    for account_id in members:
        iam = aws.member_client("iam", account_id)
        iam.create_role(RoleName=ACCESS_ROLE, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200)
        iam.attach_role_policy(RoleName=ACCESS_ROLE, PolicyArn=READ_ONLY)


def test_an_export_with_the_baseline_applies_with_kubectl_and_plans_empty(
        aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The export of an organization with its baseline (trail, bucket, AWS Config, access role) holds centralLogging
    and accessRole as AWS has them: kubectl applies it, and its plan is empty, the baseline included. The sandbox
    gives account ids at random (as AWS does): every one is quoted (test above), whatever its first digit."""
    org = aws.client()
    archive, prod = organization["shared"], organization["prod_acct"]
    audit = org.create_organizational_unit(ParentId=organization["root"], Name="Sécurité")["OrganizationalUnit"]
    org.move_account(AccountId=archive, SourceParentId=organization["infrastructure"], DestinationParentId=audit["Id"])
    _baseline(aws, archive, [prod, archive])
    aws.reset_calls()

    out = tmp_path / "export"
    assert main(["export", "--out", str(out), "--access-role", ACCESS_ROLE]) == 0
    err = capsys.readouterr().err
    assert "does not pass" not in err, err
    # Read-only: Organizations, CloudTrail, and the member accounts through the member role.
    assert all(c.startswith(("List", "Describe", "Get")) or c == "AssumeRole" for c in aws.calls), aws.calls
    assert {"DescribeTrails", "DescribeConfigurationAggregators", "GetRole", "ListAttachedRolePolicies"} <= set(
        aws.calls)
    objects = {(o["kind"], o["metadata"]["name"]): o for f in sorted(out.iterdir())
               for o in yaml.safe_load_all(f.read_text("utf-8")) if o}
    spec = objects[("Organization", "organization")]["spec"]
    assert spec["centralLogging"] == {
        "accountRef": {"name": "shared-services"}, "bucketName": "org-logs-export", "retentionDays": 400,
        "cloudTrail": {"enabled": True, "trailName": "org-trail"},
        "config": {"enabled": True, "regions": ["us-east-1"], "aggregatorName": "org-aggregator"},
        "homeRegion": "us-east-1"}
    assert spec["accessRole"] == {
        "roleName": ACCESS_ROLE, "trustedPrincipals": [f"arn:aws:iam::{aws.ids['management_account_id']}:root"],
        "managedPolicyArns": [READ_ONLY],
        "conditions": [{"operator": "Bool", "key": "aws:MultiFactorAuthPresent", "values": ["true"]}],
        "maxSessionDuration": 7200}
    header = (out / "00-organization.yaml").read_text("utf-8")
    assert "accessRole is not exported" not in header
    calls = " ".join(line.lstrip("# ") for line in header.splitlines() if line.startswith("#"))
    assert "Read in the member accounts and CloudTrail: " in calls, header
    assert "GetRole 2" in calls and "ListBuckets 1" in calls and "GetBucketLifecycleConfiguration 1" in calls
    assert objects[("OrgUnit", "securite")]["spec"]["name"] == "Sécurité"
    assert objects[("AwsAccount", "shared-services")]["spec"]["orgUnitRef"] == {"name": "securite"}

    if KUBECTL is not None:
        from controller.sandbox.kube import KubeSandbox
        from tests.sandbox.test_kube_kubectl import make_kubectl

        crds = [doc for path in sorted((ROOT / "crds").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
        with KubeSandbox(crds) as sandbox:
            kubectl = make_kubectl(sandbox, tmp_path)
            applied = kubectl("apply", "-f", str(out))
            assert applied.stdout.count(" created") == len(objects), applied.stdout
            stored = json.loads(kubectl("get", "organization", "organization", "-o", "json").stdout)["spec"]
            assert stored["centralLogging"] == spec["centralLogging"] and stored["accessRole"] == spec["accessRole"]
    aws.reset_calls()
    assert main(["plan", str(out)]) == 0
    plan = capsys.readouterr().out
    assert plan.startswith("No changes: AWS matches the files."), plan
    assert "spec.accessRole, spec.centralLogging: read" in plan, plan  # planned, not skipped
    assert "DescribeTrails" in aws.calls and "GetRole" in aws.calls

    # One account's role differs: the most common form is exported, the account is named, the plan shows it.
    aws.member_client("iam", prod).detach_role_policy(RoleName=ACCESS_ROLE, PolicyArn=READ_ONLY)
    aws.member_client("iam", prod).attach_role_policy(RoleName=ACCESS_ROLE,
                                                      PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    from tests.test_gateway_member import new_account

    new_account(aws, "Sandbox")  # no such role there
    lab = new_account(aws, "Lab")
    iam = aws.member_client("iam", lab)
    iam.create_role(RoleName=ACCESS_ROLE, AssumeRolePolicyDocument=json.dumps(json.loads(iam_role(aws, archive))),
                    MaxSessionDuration=7200)
    iam.attach_role_policy(RoleName=ACCESS_ROLE, PolicyArn=READ_ONLY)  # Lab and Shared Services agree: 2 to 1
    again = tmp_path / "again"
    assert main(["export", "--out", str(again), "--access-role", ACCESS_ROLE]) == 0
    capsys.readouterr()
    header = (again / "00-organization.yaml").read_text("utf-8")
    notes = " ".join(line.lstrip("# ") for line in header.splitlines() if line.startswith("#"))
    assert "accessRole: exported as 2 member account(s) hold it; the plan of this export will show these accounts as" \
        " changes:" in notes, notes
    assert (f'{prod} (Production): its role has managedPolicyArns ["arn:aws:iam::aws:policy/AdministratorAccess"]'
            in notes and "(Sandbox): no such role" in notes), notes
    exported = next(o for o in yaml.safe_load_all(header) if o)["spec"]["accessRole"]
    assert exported == spec["accessRole"]  # the most common form
    assert "(Shared Services)" not in notes and "(Lab)" not in notes
    assert main(["plan", "--output", "json", str(again)]) == 0
    changes = [c["text"] for c in json.loads(capsys.readouterr().out)["changes"]]
    assert any(prod in c and "AdministratorAccess" in c for c in changes), changes

    # A member role the export cannot assume: each read it could not make is a note, nothing is left out silently.
    monkeypatch.setenv("AWSORG_MEMBER_ROLE_NAME", "CiReadOnly")
    denied = tmp_path / "denied"
    assert main(["export", "--out", str(denied), "--access-role", ACCESS_ROLE]) == 0
    capsys.readouterr()
    header = (denied / "00-organization.yaml").read_text("utf-8")
    notes = " ".join(line.lstrip("# ") for line in header.splitlines() if line.startswith("#"))
    assert "centralLogging is not exported: the trail 'org-trail' logs into 'org-logs-export', which no member" \
        in notes, notes
    assert f"the bucket 'org-logs-export' could not be looked for in account {archive} (Shared Services)" in notes
    assert f"accessRole: the role '{ACCESS_ROLE}' could not be read in account {prod} (Production)" in notes, notes
    spec = next(o for o in yaml.safe_load_all(header) if o)["spec"]
    assert "centralLogging" not in spec and "accessRole" not in spec


def iam_role(aws: AwsSandbox, account_id: str) -> str:
    """The access role's trust policy in ``account_id``, as JSON."""
    document = aws.member_client("iam", account_id).get_role(RoleName=ACCESS_ROLE)["Role"]["AssumeRolePolicyDocument"]
    return document if isinstance(document, str) else json.dumps(document)


def test_an_export_without_access_role_says_so_and_how(
        aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    header = (tmp_path / "00-organization.yaml").read_text("utf-8")
    assert "# - accessRole is not exported" in header and "--access-role NAME" in header, header
    assert "# - centralLogging is not exported: the management account has no organization trail" in header, header


def test_management_policies_are_exported_and_plan_to_no_change(
    aws: AwsSandbox, organization: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tag policy on an OU and an AI services opt-out policy on the root: ManagementPolicies in
    25-management-policies.yaml, which validate clean and plan to no change."""
    org = aws.client()
    tags = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["42"]}}}}
    opt_out = {"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}
    for ptype, name, document, target in (("TAG_POLICY", "cost-center", tags, organization["workloads"]),
                                          ("AISERVICES_OPT_OUT_POLICY", "ai-opt-out", opt_out, organization["root"])):
        org.enable_policy_type(RootId=organization["root"], PolicyType=ptype)
        pid = org.create_policy(Name=name, Description="", Type=ptype, Content=json.dumps(document))["Policy"][
            "PolicySummary"]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=target)
    out = tmp_path / "export"
    assert main(["export", "--out", str(out)]) == 0
    objects = list(yaml.safe_load_all((out / "25-management-policies.yaml").read_text()))
    policies = _by_name([o for o in objects if o], "ManagementPolicy")
    assert set(policies) == {"cost-center", "ai-opt-out"}
    assert policies["cost-center"]["spec"]["type"] == "TAG_POLICY"
    assert policies["cost-center"]["spec"]["document"] == tags
    assert policies["cost-center"]["spec"]["targets"] == {"orgUnitRefs": [{"name": "workloads"}]}
    assert policies["ai-opt-out"]["spec"]["targets"] == {"root": True}
    assert "1 ServiceControlPolicies, 2 ManagementPolicies" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    assert main(["plan", str(out)]) == 0
    assert capsys.readouterr().out.startswith("No changes: AWS matches the files.")
