"""`awsorg plan` with a read-only member role (AWSORG_PLAN_MEMBER_ROLE_NAME; its policy deploy/plan-member-policy.json)
instead of the operator's administrator role in member accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.api.models import API_VERSION
from controller.cli import main
from controller.sandbox.aws import AwsSandbox

ORGANIZATION = ("apiVersion: " + API_VERSION + "\nkind: Organization\nmetadata:\n  name: organization\nspec:\n"
                "  accessRole:\n    roleName: PlatformAdmin\n"
                "    trustedPrincipals: ['arn:aws:iam::{management}:root']\n"
                "    managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n")


@pytest.fixture
def files(aws: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    (tmp_path / "org.yaml").write_text(ORGANIZATION.format(management=aws.ids["management_account_id"]))
    return tmp_path


def test_the_plan_assumes_the_read_only_role_it_is_given(files: Path, aws: AwsSandbox,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWSORG_PLAN_MEMBER_ROLE_NAME", "AwsorgPlanReadOnly")
    code = main(["plan", "--output", "json", str(files)])
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    notes = json.loads(out)["notes"]
    assert any("through AwsorgPlanReadOnly" in n for n in notes), notes
    assert not any("OrganizationAccountAccessRole" in n for n in notes), notes


def test_a_member_role_name_iam_refuses_is_a_clear_error(files: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWSORG_PLAN_MEMBER_ROLE_NAME", "read only!")
    assert main(["plan", str(files)]) == 2  # a setting: the tool cannot run (awsorg --help's table)
    assert "AWSORG_PLAN_MEMBER_ROLE_NAME='read only!': expected an IAM role name" in capsys.readouterr().err
