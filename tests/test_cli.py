"""The ``awsorg`` command line's one exit-code table: each command, each outcome, the code the table gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow import exits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OU = "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OrgUnit\nmetadata: {name: team}\nspec: {name: Team}\n"


@pytest.fixture
def sandbox_env(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> AwsSandbox:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWSORG_ASSUME_ROLE_ARN", raising=False)
    return aws


SETTINGS_CASES = [
    ("plan: a bad setting is the tool failing, before any AWS call", ["plan", "{examples}"], "awsorg plan: "),
    ("export: the same code as plan (it exited 2 here and 1 in plan)", ["export"], "awsorg export: "),
    ("run: the operator refuses to start, naming the variable", ["run"], "awsorg: "),
]


@pytest.mark.parametrize(("reason", "argv", "prefix"), SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
def test_an_invalid_setting_exits_failed_in_every_command(
    reason: str, argv: list[str], prefix: str, sandbox_env: AwsSandbox, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWSORG_DRIFT_POLICY", "sometimes")
    calls = len(sandbox_env.calls)
    assert main([a.format(examples=EXAMPLES) for a in argv]) == exits.FAILED, reason
    err = capsys.readouterr().err
    assert err.startswith(prefix) and "AWSORG_DRIFT_POLICY='sometimes'" in err, err
    assert len(sandbox_env.calls) == calls  # nothing was asked of AWS


def test_each_outcome_has_the_code_of_the_table(sandbox_env: AwsSandbox, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yaml").write_text(OU)
    (tmp_path / "dup.yaml").write_text(OU + "---\n" + OU.replace("{name: team}", "{name: team-copy}"))
    cases = [
        ("validate: no findings", ["validate", str(tmp_path / "ok.yaml")], exits.OK),
        ("validate: a finding refuses the files", ["validate", str(tmp_path / "dup.yaml")], exits.REFUSED),
        ("validate: an unreadable --base is the tool failing", ["validate", "--base", "no-such-rev",
                                                               str(tmp_path / "ok.yaml")], exits.FAILED),
        ("plan: nothing refused", ["plan", str(tmp_path / "ok.yaml")], exits.OK),
        ("plan: a change it would refuse (invalid files)", ["plan", str(tmp_path / "dup.yaml")], exits.REFUSED),
        ("plan: an unreadable --base is the tool failing", ["plan", "--base", "no-such-rev",
                                                           str(tmp_path / "ok.yaml")], exits.FAILED),
        ("export: written", ["export", "--out", str(tmp_path / "out")], exits.OK),
    ]
    for reason, argv, code in cases:
        assert main(argv) == code, reason
        capsys.readouterr()


def test_help_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == exits.OK
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for code, words in exits.TABLE:
        assert f"  {code}  {words[:40]}" in out
