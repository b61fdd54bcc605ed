"""``--base PATH_OR_GITREV``: the files before the change, from a directory or from a git revision."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controller.workflow.sources import SourceError, base_paths

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    """git in ``repo`` and nowhere else: GIT_DIR and the like (set under `git rebase --exec`) are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    result = subprocess.run(["git", *args], cwd=repo, env={**env, **GIT_ENV}, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


def files_under(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits: the first is ``origin/main``; the second changes a.yaml, removes old.yaml, adds new/."""
    repo = tmp_path / "repo"
    lz = repo / "landing-zone"
    (lz / "accounts").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "work")
    (lz / "a.yaml").write_text("a: 1\n")
    (lz / "old.yaml").write_text("old: 1\n")
    (lz / "accounts" / "b.yml").write_text("b: 1\n")
    (lz / "README.md").write_text("not YAML\n")
    (repo / "other.yaml").write_text("elsewhere: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    (lz / "a.yaml").write_text("a: 2\n")
    (lz / "old.yaml").unlink()
    (repo / "new").mkdir()
    (repo / "new" / "c.yaml").write_text("c: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "second")
    (lz / "a.yaml").write_text("a: 3 (not committed)\n")
    return repo


@pytest.mark.parametrize("revision", ["origin/main", "HEAD~1", "work~1"])
def test_a_revision_gives_the_same_relative_paths_at_that_revision(repo: Path, revision: str) -> None:
    with base_paths([revision], [Path("landing-zone")], cwd=repo) as paths:
        assert len(paths) == 1 and paths[0].name == "landing-zone" and paths[0].is_dir()
        assert files_under(paths[0]) == {"a.yaml": "a: 1\n", "old.yaml": "old: 1\n", "accounts/b.yml": "b: 1\n"}
        temp = paths[0]
    assert not temp.exists(), "the extracted files are removed afterwards"


def test_a_commit_id_and_paths_relative_to_a_subdirectory(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD~1")
    with base_paths([first[:12]], [Path(".")], cwd=repo / "landing-zone") as paths:
        assert [p.name for p in paths] == ["landing-zone"]
        assert files_under(paths[0])["a.yaml"] == "a: 1\n"
    with base_paths(["HEAD~1"], [Path("accounts/b.yml"), Path("a.yaml")], cwd=repo / "landing-zone") as paths:
        assert [p.parts[-3:] for p in paths] == [("landing-zone", "accounts", "b.yml"),
                                                   (paths[1].parts[-3], "landing-zone", "a.yaml")]
        assert [p.read_text() for p in paths] == ["b: 1\n", "a: 1\n"]


def test_absolute_paths_and_the_whole_repository(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with base_paths(["HEAD"], [repo], cwd=elsewhere) as paths:
        assert files_under(paths[0]) == {"landing-zone/a.yaml": "a: 2\n", "landing-zone/accounts/b.yml": "b: 1\n",
                                         "other.yaml": "elsewhere: 1\n", "new/c.yaml": "c: 1\n"}


def test_a_path_new_since_the_revision_has_no_base(repo: Path) -> None:
    with base_paths(["origin/main"], [Path("new"), Path("landing-zone/a.yaml")], cwd=repo) as paths:
        assert [p.name for p in paths] == ["a.yaml"]


def test_an_existing_path_is_taken_as_it_is(repo: Path) -> None:
    with base_paths(["landing-zone/accounts", "HEAD~1"], [Path("landing-zone")], cwd=repo) as paths:
        assert paths[0] == Path("landing-zone/accounts")
        assert files_under(paths[1])["a.yaml"] == "a: 1\n"


def test_neither_a_path_nor_a_revision(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither a file or directory nor a revision"), \
            base_paths(["no-such-branch"], [Path("landing-zone")], cwd=repo):
        pass
    with pytest.raises(SourceError, match="neither"), base_paths(["--output=x"], [Path(".")], cwd=repo):
        pass
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    with pytest.raises(SourceError, match="not in a git repository"), \
            base_paths(["origin/main"], [Path(".")], cwd=outside):
        pass


def test_the_paths_decide_the_repository_whatever_git_dir_says(repo: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a git hook or `git rebase --exec`, GIT_DIR names the repository being worked on, not the paths'."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "landing-zone").mkdir()
    (other / "landing-zone" / "a.yaml").write_text("a: other\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    with base_paths(["HEAD~1"], [Path("landing-zone")], cwd=repo) as paths:
        assert files_under(paths[0])["a.yaml"] == "a: 1\n"
