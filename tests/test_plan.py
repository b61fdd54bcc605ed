"""`awsorg plan`: what the operator would do, against the strict AWS sandbox, with no write call."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.aws.session import organizations_client
from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow.plan import plan_paths

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
READ_ONLY = ("List", "Describe")


@pytest.fixture
def gateway(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The organizations client ``awsorg plan`` makes (the sandbox's endpoint and credentials)."""
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    return organizations_client()


def test_plan_of_the_landing_zone_on_an_empty_org(aws: AwsSandbox, gateway: Any) -> None:
    report = plan_paths([EXAMPLES], gateway)
    texts = [(c.kind, c.name, c.text) for c in report.changes]
    assert not report.problems, report.problems
    creates = {(k, n) for k, n, t in texts if t.startswith("create")}
    assert {("OrgUnit", "production"), ("OrgUnit", "non-production"), ("OrgUnit", "infrastructure")} <= creates
    assert {("AwsAccount", n) for n in ("production", "staging", "development", "shared-services")} <= creates
    policies = {n for k, n in creates if k == "ServiceControlPolicy"}
    assert len(policies) == 2
    assert any("enable SERVICE_CONTROL_POLICY" in t for _, _, t in texts)
    assert sum(1 for _, _, t in texts if t.startswith("attach")) >= 6  # two policies on three OUs
    assert all(call.startswith(READ_ONLY) for call in aws.calls), aws.calls


def test_plan_shows_adoption_as_no_change_and_real_differences(aws: AwsSandbox, gateway: Any,
                                                                tmp_path: Path) -> None:
    org = aws.client()
    root = aws.ids["root_id"]
    org.create_organizational_unit(ParentId=root, Name="Production", Tags=[{"Key": "environment",
                                                                            "Value": "production"}])
    org.create_organizational_unit(ParentId=root, Name="Non-Production")  # tags differ from the files
    shutil.copy(EXAMPLES / "00-orgunits.yaml", tmp_path / "ous.yaml")
    aws.reset_calls()
    report = plan_paths([tmp_path], gateway)
    by_object = {(c.kind, c.name): c.text for c in report.changes}
    assert ("OrgUnit", "production") not in by_object  # found in AWS, matches: adopted, nothing to do
    assert by_object[("OrgUnit", "non-production")].startswith("tag ")
    assert by_object[("OrgUnit", "infrastructure")].startswith("create OU 'Infrastructure' under Root")
    assert all(call.startswith(READ_ONLY) for call in aws.calls), aws.calls


def test_plan_with_base_shows_renames_and_deletions(aws: AwsSandbox, gateway: Any,
                                                    tmp_path: Path) -> None:
    org = aws.client()
    root = aws.ids["root_id"]
    org.create_organizational_unit(ParentId=root, Name="Sandbox")
    gone = org.create_organizational_unit(ParentId=root, Name="Gone")["OrganizationalUnit"]
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    ou = "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OrgUnit\nmetadata: {{name: {n}}}\nspec: {{name: {a}}}\n"
    (base / "a.yaml").write_text(ou.format(n="sandbox", a="Sandbox") + "---\n" + ou.format(n="gone", a="Gone"))
    (head / "a.yaml").write_text(ou.format(n="sandbox", a="Sandbox-Renamed"))
    report = plan_paths([head], gateway, base=[base])
    by_object = {(c.kind, c.name): (c.symbol, c.text) for c in report.changes}
    assert by_object[("OrgUnit", "sandbox")][1].startswith("rename OU")
    assert by_object[("OrgUnit", "gone")] == ("-", "delete OU Root/Gone")
    assert gone["Id"] in {ou["Id"] for ou in org.list_organizational_units_for_parent(ParentId=root)[
        "OrganizationalUnits"]}  # read-only: still there


def test_plan_cli_markdown_and_refusals(aws: AwsSandbox, gateway: Any, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    acct = ("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: AwsAccount\nmetadata: {{name: {n}}}\n"
            "spec: {{accountName: {n}, email: same@example.com}}\n")
    (tmp_path / "a.yaml").write_text(acct.format(n="first") + "---\n" + acct.format(n="second"))
    assert main(["validate", str(tmp_path)]) == 1  # validate catches it offline already
    capsys.readouterr()
    assert main(["plan", str(tmp_path)]) == 1  # refused: exit 1 (as validate), so a workflow posts the plan, then fails
    capsys.readouterr()
    assert main(["plan", str(EXAMPLES), "--output", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### awsorg plan") and "| :heavy_plus_sign: | `OrgUnit/production` |" in out


def test_example_workflow_posts_the_plan_whatever_the_exit_code_then_fails_on_refusals() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "github-workflow.yaml").read_text())
    steps = workflow["jobs"]["plan"]["steps"]
    plan = next(s for s in steps if "awsorg plan" in s.get("run", ""))
    assert "set +e" in plan["run"] and "GITHUB_OUTPUT" in plan["run"]  # a refusal does not stop the job here
    comment = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    assert comment["if"] == "always()"
    last = steps[-1]
    assert steps.index(last) > steps.index(comment)
    assert "steps.plan.outputs.exit != '0'" in last["if"] and "exit 1" in last["run"]
    assert "3: the plan is incomplete" in last["run"]  # exits.INCOMPLETE fails the check, after the comment


def test_example_workflow_checks_against_the_administrators_policy_from_outside_the_pull_request() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "github-workflow.yaml").read_text())
    for job in ("validate", "plan"):
        steps = workflow["jobs"][job]["steps"]
        fetch = next(i for i, s in enumerate(steps) if "AWSORG_POLICY_FILE=" in s.get("run", ""))
        command = next(i for i, s in enumerate(steps) if f"awsorg {job}" in s.get("run", ""))
        assert fetch < command, job  # AWSORG_POLICY_FILE is read by validate and plan alike
        run = steps[fetch]["run"]
        assert '"$RUNNER_TEMP/' in run and "$GITHUB_ENV" in run  # outside the checkout the pull request fills


def test_plan_base_can_be_a_git_revision(aws: AwsSandbox, gateway: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`--base origin/main`, as the example workflow runs it: the files at that revision bind the objects."""
    import os
    import subprocess

    def git(*args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # git here, not a rebase's GIT_DIR
        env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
        subprocess.run(["git", *args], cwd=tmp_path / "repo", env=env, check=True, capture_output=True)

    org = aws.client()
    org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Sandbox")
    lz = tmp_path / "repo" / "lz"
    lz.mkdir(parents=True)
    ou = "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OrgUnit\nmetadata: {{name: sandbox}}\nspec: {{name: {a}}}\n"
    (lz / "ou.yaml").write_text(ou.format(a="Sandbox"))
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    (lz / "ou.yaml").write_text(ou.format(a="Sandbox-Renamed"))
    monkeypatch.chdir(tmp_path / "repo")

    assert main(["plan", "lz", "--base", "HEAD", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["name"], c["reason"]) for c in report["changes"]] == [("sandbox", "Renamed")]
    assert main(["plan", "lz", "--base", "no-such-revision"]) == 2  # the tool could not run (as validate)
    assert "neither a file or directory nor a revision" in capsys.readouterr().err


def test_plan_warns_when_a_declared_scp_would_deny_the_baseline(aws: AwsSandbox, gateway: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    org = tmp_path / "examples" / "00-organization.yaml"
    org.write_text(org.read_text().replace("regions: [us-east-1]", "regions: [us-east-1, ap-south-1]"))
    main(["plan", str(tmp_path / "examples")])
    out = capsys.readouterr().out
    assert "validate warns: ServiceControlPolicy/deny-unapproved-regions spec.document:" in out
    assert "in ap-south-1" in out and "aws:PrincipalArn" in out


def test_plan_refuses_the_email_of_a_closed_account_that_validate_cannot_know(
        aws: AwsSandbox, gateway: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the organization knows an email is a SUSPENDED account's: validate (offline) passes the file, plan
    refuses it (AccountClosed), naming the account and the way out, with no write."""
    org = aws.client()
    request = org.create_account(AccountName="Old", Email="old@example.com")["CreateAccountStatus"]["Id"]
    old = org.describe_create_account_status(CreateAccountRequestId=request)["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=old)
    assert org.describe_account(AccountId=old)["Account"]["Status"] == "SUSPENDED"  # delay 0: closed at once
    (tmp_path / "a.yaml").write_text("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: AwsAccount\n"
                                     "metadata: {name: reused}\nspec: {accountName: New, email: old@example.com}\n")
    assert main(["validate", str(tmp_path)]) == 0
    capsys.readouterr()
    aws.reset_calls()
    assert main(["plan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "AccountClosed" in out and old in out and "choose another email" in out, out
    assert all(c.startswith(READ_ONLY) for c in aws.calls), aws.calls


def test_plan_shows_an_invitation_and_sends_none(aws: AwsSandbox, gateway: Any, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    outside = aws.standalone_account("legacy@example.com", "Legacy")
    (tmp_path / "a.yaml").write_text("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: AwsAccount\n"
                                     "metadata: {name: legacy}\nspec: {accountName: Legacy, email: legacy@example.com,"
                                     f" accountId: '{outside}', invite: {{notes: hi}}}}\n")
    aws.reset_calls()
    assert main(["plan", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"invite account {outside}" in out, out
    assert all(c.startswith(READ_ONLY) for c in aws.calls), aws.calls
