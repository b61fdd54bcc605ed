"""``awsorg validate --policy FILE`` and ``awsorg plan --policy FILE``: the administrator's policy before the merge,
with the operator's own checks (controller/planner/guardrails.py) and the exit codes of controller/workflow/exits.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow import exits
from tests.test_cli import sandbox_env  # noqa: F401 (a fixture)

OUTSIDE = "arn:aws:iam::999999999999:role/Auditor"
ORG = f"""apiVersion: awsorg.gitops.dev/v1alpha1
kind: Organization
metadata: {{name: organization}}
spec:
  accessRole:
    roleName: Auditor
    trustedPrincipals: ["{OUTSIDE}"]
"""
SCP = """apiVersion: awsorg.gitops.dev/v1alpha1
kind: ServiceControlPolicy
metadata: {name: guard}
spec:
  deletionPolicy: Delete
  document: {Version: "2012-10-17", Statement: [{Effect: Deny, Action: "s3:DeleteBucket", Resource: "*"}]}
  targets: {root: true}
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "lz").mkdir()
    (tmp_path / "lz" / "org.yaml").write_text(ORG)
    (tmp_path / "lz" / "scp.yaml").write_text(SCP)
    (tmp_path / "strict.yaml").write_text("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OperatorPolicy\n"
                                          "deletion:\n  serviceControlPolicy: [Retain]\n")
    (tmp_path / "auditors.yaml").write_text(
        "accessRole:\n  allowedPrincipals: [organization, 'arn:aws:iam::999999999999:role/Auditor']\n")
    (tmp_path / "bad.yaml").write_text("accessRole:\n  allowedPrincipal: ['*']\n")
    return tmp_path


def test_validate_refuses_what_the_policy_forbids_naming_rule_and_field(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files / "lz")]) == exits.OK  # the defaults allow an SCP's Delete
    out = capsys.readouterr().out
    # Offline, whether 999999999999 is in the organization cannot be known: said, not passed in silence.
    assert "note: not checked offline: accessRole.allowedPrincipals" in out, out

    assert main(["validate", "--policy", str(files / "strict.yaml"), "-o", "json", str(files / "lz")]) == \
        exits.REFUSED
    (finding,) = json.loads(capsys.readouterr().out)
    assert (finding["kind"], finding["name"], finding["field"], finding["line"]) == (
        "ServiceControlPolicy", "guard", "spec.deletionPolicy", 5)
    assert "(deletion.serviceControlPolicy)" in finding["message"] and "allowed: Retain" in finding["message"]


def test_an_invalid_policy_file_is_the_tool_failing_naming_file_field_and_allowed(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--policy", str(files / "bad.yaml"), str(files / "lz")]) == exits.FAILED
    err = capsys.readouterr().err
    assert err.startswith(f"awsorg validate: --policy: {files / 'bad.yaml'}: accessRole.allowedPrincipal: "), err
    assert "allowed: allowedPrincipals, allowedManagedPolicies, neverAdopt" in err
    assert main(["validate", "--policy", str(files / "missing.yaml"), str(files / "lz")]) == exits.FAILED
    assert "cannot be read" in capsys.readouterr().err


def test_plan_refuses_a_principal_outside_the_organization_and_writes_nothing(
        sandbox_env: AwsSandbox, files: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    aws = sandbox_env
    # The defaults: the organization is read, so the outside account is known to be outside.
    assert main(["plan", "-o", "json", str(files / "lz" / "org.yaml")]) == exits.REFUSED
    refused = json.loads(capsys.readouterr().out)["refused"]
    assert [(r["kind"], r["reason"]) for r in refused] == [("Organization", "ForbiddenByPolicy")], refused
    assert "spec.accessRole.trustedPrincipals[0]" in refused[0]["text"]
    assert "(administrator's policy: accessRole.allowedPrincipals)" in refused[0]["text"]
    assert "account 999999999999 is not in this organization" in refused[0]["text"]
    assert all(c.startswith(("List", "Describe", "Get")) or c == "AssumeRole" for c in aws.calls), aws.calls

    # The administrator's file names that auditor: the same files plan without refusal.
    assert main(["plan", "--policy", str(files / "auditors.yaml"), str(files / "lz" / "org.yaml")]) == exits.OK
    assert f"Note: the administrator's policy: --policy {files / 'auditors.yaml'}" in capsys.readouterr().out
    # And the same refusal as validate's for the SCP, under the strict file.
    assert main(["plan", "--policy", str(files / "strict.yaml"), str(files / "lz" / "scp.yaml")]) == exits.REFUSED
    out = capsys.readouterr()
    assert "deletion.serviceControlPolicy" in out.err + out.out  # validate's finding, printed by plan


def test_plan_reads_awsorg_policy_file_when_no_policy_is_given(
        sandbox_env: AwsSandbox, files: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWSORG_POLICY_FILE", str(files / "auditors.yaml"))
    assert main(["plan", str(files / "lz" / "org.yaml")]) == exits.OK
    monkeypatch.setenv("AWSORG_POLICY_FILE", str(files / "bad.yaml"))
    assert main(["plan", str(files / "lz" / "org.yaml")]) == exits.FAILED
    assert "AWSORG_POLICY_FILE" in capsys.readouterr().err


def test_plan_adopts_what_git_did_not_create_only_with_the_ownership_tag_and_never_a_protected_id(
        aws: AwsSandbox, tmp_path: Path) -> None:
    from controller.api.guardrails import OperatorPolicy
    from controller.workflow.plan import plan_paths

    org = aws.client()
    legacy = org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Legacy")["OrganizationalUnit"]["Id"]
    (tmp_path / "ou.yaml").write_text("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OrgUnit\n"
                                      "metadata: {name: legacy}\nspec: {name: Legacy}\n")
    owned = OperatorPolicy.model_validate({"adoption": {"requireTag": {"owner": "platform"}}})
    aws.reset_calls()

    def refused(policy: OperatorPolicy) -> list[str]:
        return [c.text for c in plan_paths([tmp_path / "ou.yaml"], aws.client(), policy=policy).problems]

    assert refused(OperatorPolicy()) == []  # the defaults adopt by name, as before
    (text,) = refused(owned)
    assert "Root/Legacy exists in AWS and was not made by the operator" in text and "owner=platform" in text  # labelled
    assert "(administrator's policy: adoption.requireTag)" in text and "spec.name" in text
    org.tag_resource(ResourceId=legacy, Tags=[{"Key": "owner", "Value": "platform"}])
    assert all(c.startswith(("List", "Describe", "Get")) for c in aws.calls[:-1]), aws.calls  # the plans read only
    assert refused(owned) == []
    (text,) = refused(OperatorPolicy.model_validate({"protected": {"orgUnits": [legacy]}}))
    assert "(administrator's policy: protected.orgUnits)" in text
