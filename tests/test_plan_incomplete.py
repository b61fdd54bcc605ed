"""``awsorg plan`` never claims what it did not see: a read it needed and could not make (a member role it cannot
assume, no credentials) is listed by object and account, the plan says INCOMPLETE and exits 3
(:data:`controller.workflow.exits.INCOMPLETE`); its notes count only the reads it made. The real CLI against the
sandbox."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from controller.api.models import API_VERSION
from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow import exits

ORGANIZATION = ("apiVersion: " + API_VERSION + "\nkind: Organization\nmetadata:\n  name: organization\nspec:\n"
                "  accessRole:\n    roleName: PlatformAdmin\n"
                "    trustedPrincipals: ['arn:aws:iam::{management}:root']\n"
                "    managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n")


def _members(aws: AwsSandbox, count: int) -> list[str]:
    org = aws.client()
    ids = []
    for i in range(count):
        request = org.create_account(AccountName=f"Member {i}", Email=f"member-{i}@example.com")["CreateAccountStatus"]
        ids.append(org.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"][
            "AccountId"])
    return ids


@pytest.fixture
def files(aws: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    (tmp_path / "org.yaml").write_text(ORGANIZATION.format(management=aws.ids["management_account_id"]))
    return tmp_path


def test_a_member_role_the_plan_cannot_assume_makes_it_incomplete(
        files: Path, aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The position of a List/Describe-only CI role: the plan that reads the members shows the access role to create
    in each; the one that cannot assume the member role says INCOMPLETE, names each account, exits 3, and its note
    counts the AssumeRole calls it made and no account read."""
    members = _members(aws, 3)
    assert main(["plan", "--output", "json", str(files)]) == exits.OK  # the operator's member role: readable
    seen = json.loads(capsys.readouterr().out)
    created = [c["text"] for c in seen["changes"] if c["text"].startswith("create role 'PlatformAdmin'")]
    assert len(created) == 3 and all(any(f"({m})" in t for t in created) for m in members), seen
    assert not seen["incomplete"] and seen["unread"] == []

    monkeypatch.setenv("AWSORG_PLAN_MEMBER_ROLE_NAME", "CiReadOnly")  # no such role in the members: AccessDenied
    aws.reset_calls()
    assert main(["plan", str(files)]) == exits.INCOMPLETE
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("INCOMPLETE: the plan could not make 3 read(s) it needed"), out
    for account_id in members:
        [line] = [li for li in lines if f"account {account_id}:" in li]
        assert line.startswith("  ? Organization/organization: ") and "the access role 'PlatformAdmin'" in line
        assert "AccessDenied" in line and f"arn:aws:iam::{account_id}:role/CiReadOnly" in line, line
    assert "No changes" not in out and "AWS matches the files" not in out
    [note] = [li for li in lines if li.startswith("Note: spec.accessRole")]
    assert "in 0 member account(s) (not in 3 more: the plan is incomplete)" in note, note
    assert "(AssumeRole 3)" in note and "GetRole" not in note, note  # the calls it made, and only those
    assert aws.calls.count("AssumeRole") == 3 and "GetRole" not in aws.calls, aws.calls

    # The comment a pull request gets says so too, with a row per account; JSON carries the list.
    assert main(["plan", "--output", "markdown", str(files)]) == exits.INCOMPLETE
    comment = capsys.readouterr().out
    assert comment.splitlines()[2].startswith("**INCOMPLETE") and "could not make 3 read(s)" in comment, comment
    assert sum(1 for row in comment.splitlines() if row.startswith("| :question: | `Organization/organization` |")) \
        == 3, comment
    assert main(["plan", "--output", "json", str(files)]) == exits.INCOMPLETE
    found = json.loads(capsys.readouterr().out)
    assert found["incomplete"] is True
    assert sorted(u["account"] for u in found["unread"]) == sorted(members)
    assert {u["object"] for u in found["unread"]} == {"Organization/organization"}


def test_no_credentials_fail_in_seconds_with_the_fix_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """No credentials anywhere: exit 2 at once (botocore's instance-metadata probing and the retries took ~27-44 s),
    saying what to set. Timed in the process (the interpreter's start is not the plan's: under load it alone can
    take seconds)."""
    (tmp_path / "org.yaml").write_text(ORGANIZATION.format(management="123456789012"))
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")  # as on a fresh machine; restored after the test
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    started = time.monotonic()
    code = main(["plan", str(tmp_path)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == exits.FAILED, err
    assert elapsed < 5, elapsed
    assert "no AWS credentials were found" in err and "AWS_ACCESS_KEY_ID" in err and "IRSA" in err, err
