"""A pull request is hostile input to `awsorg validate` and `awsorg plan` in CI (issue 19, "CI that trusts no pull
request"): a git repository built in tmp, its `main` a landing zone, a pull request on top of it that carries a
directory shaped like a bare repository (whose config would run a command and point at another work tree), a
symbolic link to /dev/zero, a FIFO, an OU named with a newline and `<!--`, and a 32,000-character email; planned
against the strict AWS sandbox as the example workflow runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from controller.api.models import API_VERSION
from controller.cli import main
from controller.sandbox.aws import AwsSandbox
from controller.workflow.escape import markdown_text, plain
from controller.workflow.sources import MAX_FILE_BYTES

HOSTILE_NAME = "Prod\n<!-- | `x` [l](http://e.test) @team"
# A name AWS and the operator accept (no control character) that is still hostile to Markdown.
VALID_HOSTILE_NAME = "Prod <!-- | `x` [l](http://e.test) @team"


def _git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent))
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _ou(name: str, aws_name: str) -> str:
    return (f"apiVersion: {API_VERSION}\nkind: OrgUnit\nmetadata:\n  name: {name}\nspec:\n"
            f"  name: {json.dumps(aws_name)}\n")


def _bare_repository(where: Path, marker: Path, decoy: Path) -> None:
    """A directory of the pull request shaped like a bare repository, whose config would run a command (fsmonitor,
    a hook-like knob git runs on status) and whose HEAD names the decoy's history: found as a repository, it would
    be the base."""
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True, capture_output=True)
    subprocess.run(["git", "--git-dir", str(where), "fetch", "-q", str(decoy), "main:main"], check=True,
                   capture_output=True)
    with (where / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = touch {marker}\n")


@pytest.fixture
def checkout(tmp_path: Path, aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`main`: OU Workloads and OU Sandbox; the pull request (the branch `pr`, upstream `origin/main`) removes OU
    Sandbox and adds the hostile parts.  The current directory is the checkout's root, as in CI."""
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    root = aws.ids["root_id"]
    org = aws.client()
    org.create_organizational_unit(ParentId=root, Name="Workloads")
    org.create_organizational_unit(ParentId=root, Name="Sandbox")

    decoy = tmp_path / "decoy"  # what the attacker would like the base to be: OU Sandbox never existed
    (decoy / "lz").mkdir(parents=True)
    _git(decoy, "init", "-q", "-b", "main")
    (decoy / "lz" / "ous.yaml").write_text(_ou("workloads", "Workloads"))
    _git(decoy, "add", "-A")
    _git(decoy, "commit", "-q", "-m", "decoy")

    repo = tmp_path / "repo"
    lz = repo / "lz"
    lz.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (lz / "ous.yaml").write_text(_ou("workloads", "Workloads"))
    (lz / "sandbox.yaml").write_text(_ou("sandbox", "Sandbox"))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "main")
    _git(repo, "remote", "add", "origin", str(repo))
    _git(repo, "fetch", "-q", "origin")
    _git(repo, "checkout", "-q", "-b", "pr", "--track", "origin/main")
    return repo


def _hostile(repo: Path, tmp_path: Path, invalid: bool) -> None:
    lz = repo / "lz"
    (lz / "sandbox.yaml").unlink()
    name = HOSTILE_NAME if invalid else VALID_HOSTILE_NAME
    (lz / "hostile.yaml").write_text(_ou("hostile", name) + "---\n" + _ou("zeta", "Zeta"))
    _bare_repository(lz, tmp_path / "fsmonitor-ran", tmp_path / "decoy")  # lz/HEAD, lz/objects/, lz/refs/, lz/config
    if invalid:
        os.symlink("/dev/zero", lz / "zero.yaml")
        (lz / "big.yaml").write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
        email = "a" * 32_000 + "@example.com"
        (lz / "account.yaml").write_text(
            f"apiVersion: {API_VERSION}\nkind: AwsAccount\nmetadata:\n  name: big\nspec:\n  accountName: Big\n"
            f"  email: {email}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "pr")
    assert "lz/HEAD" in _git(repo, "ls-files", "lz")  # the bare repository's shape is in the pull request
    if invalid:
        os.mkfifo(lz / "fifo.yaml")  # git stores no FIFO: one left in a checkout


def _rows(markdown: str) -> list[list[str]]:
    """The table rows of a Markdown comment as GitHub splits them: one per line starting with '|', cells at the
    '|' that no backslash escapes."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows[1:]  # the header aside


def test_a_hostile_pull_request_gets_a_complete_plan_comment_within_seconds(
        checkout: Path, tmp_path: Path, aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(checkout)
    _hostile(checkout, tmp_path, invalid=True)

    started = time.monotonic()
    assert main(["plan", "--output", "markdown", "lz"]) == 1  # refused: the job fails, the comment is posted
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert elapsed < 15, f"{elapsed:.1f} s"
    assert "<!--" not in out and "/dev/zero" not in out and "/dev/zero" not in err  # the link's target not echoed
    rows = {row[1].split("\\:")[0]: row for row in _rows(out)}
    assert all(len(row) == 5 for row in rows.values()), rows  # no cell split, no row hidden
    assert "symbolic link to a file outside the checkout" in rows["lz/zero.yaml"][4]
    assert "FIFO" in rows["lz/fifo.yaml"][4]
    assert "control characters" in rows["lz/hostile.yaml"][4]  # the newline in the OU's name, on one row
    assert f"more than the {MAX_FILE_BYTES:,} read".replace(",", ",") in rows["lz/big.yaml"][4]
    assert "Too long" in rows["lz/account.yaml"][4] and len(rows["lz/account.yaml"][4]) < 5_000  # cut, and said so
    assert not (tmp_path / "fsmonitor-ran").exists()  # no command of the pull request's bare repository ran

    started = time.monotonic()
    assert main(["validate", "--output", "github", "lz"]) == 1
    out = capsys.readouterr().out
    assert time.monotonic() - started < 15
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert len(commands) == len(out.splitlines()) - 1  # one line per annotation, the summary last
    assert all("\n" not in c and "\r" not in c for c in commands)


def test_a_hostile_name_and_a_bare_repository_in_the_pull_request(
        checkout: Path, tmp_path: Path, aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Valid but hostile: the plan is complete (every row, the name shown as written, on one line), the base is the
    merge base with the upstream branch, never the pull request's directory shaped like a bare repository."""
    monkeypatch.chdir(checkout)
    _hostile(checkout, tmp_path, invalid=False)

    assert main(["plan", "--output", "markdown", "lz"]) == 0
    out = capsys.readouterr().out
    assert "<!--" not in out and "\n<" not in out
    rows = _rows(out)
    objects = [row[1] for row in rows]
    # The plain command took the merge base with origin/main: Sandbox's removal shows; the decoy's base would not.
    assert objects == ["`OrgUnit/hostile`", "`OrgUnit/zeta`", "`OrgUnit/sandbox`"], out
    assert all(len(row) == 4 for row in rows), rows
    assert rows[0][2] == markdown_text(f"create OU '{VALID_HOSTILE_NAME}' under Root"), rows[0]
    assert "Prod &lt;\\!--" in rows[0][2] and "\\`x\\`" in rows[0][2] and "\\|" in rows[0][2]
    assert "@\u2060team" in rows[0][2]
    assert "the merge base of HEAD with origin/main" in out
    assert not (tmp_path / "fsmonitor-ran").exists()

    assert main(["plan", "lz"]) == 0
    text = capsys.readouterr().out
    assert f"create OU {plain(repr(VALID_HOSTILE_NAME))[1:-1]!s}"[:10] in text
    assert all(not line.startswith("<!--") for line in text.splitlines())

    # --base origin/main: the checkout's revision, although lz/ looks like a bare repository with a main branch.
    assert main(["plan", "--output", "json", "--base", "origin/main", "lz"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in report["changes"] if c["symbol"] == "-"] == ["sandbox"]
