"""Where "the files before the change" come from, for ``--base`` of ``awsorg validate`` and ``awsorg plan``.

A base is a file or directory (e.g. a checkout of the target branch), or a git revision (``origin/main``,
``HEAD~1``, a commit id) of the repository that holds the PATHs being checked.  For a revision, the same
paths, relative to the repository's top level, are taken from that revision's tree into a temporary
directory: ``awsorg validate --base origin/main landing-zone/`` compares ``landing-zone/`` with
``landing-zone/`` on ``origin/main``, whatever the current directory.  A path that does not exist at the
revision has no base (everything under it is new).

Files are read from git's object database (``git ls-tree`` and ``git cat-file --batch``), byte for byte,
without a checkout and without ``.gitattributes`` filters; only ``*.yaml``/``*.yml`` files are taken from
directories (and any file named as a PATH).  Symbolic links and submodules are not followed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

__all__ = ["SourceError", "base_paths", "is_revision", "repository_of"]

YAML_SUFFIXES = (".yaml", ".yml")
_BLOB_MODES = ("100644", "100755")


class SourceError(Exception):
    """A base that is neither a path nor a revision, or a revision that cannot be read."""


# What points git at another repository than the one found from the paths: git sets GIT_DIR and others for hooks
# and for `git rebase --exec`, and the paths are to decide which repository is read.
_REPOSITORY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        return subprocess.run(["git", "--literal-pathspecs", *args], cwd=cwd, input=stdin, capture_output=True,
                              env=env, check=False)
    except FileNotFoundError as exc:  # no git on this machine
        raise SourceError(f"git is not installed ({exc})") from exc


def _existing_dir(path: Path) -> Path:
    """The nearest existing directory at or above ``path`` (which may not exist: a deleted directory)."""
    current = path if path.is_dir() else path.parent
    while not current.is_dir() and current != current.parent:
        current = current.parent
    return current


def repository_of(paths: Sequence[Path], cwd: Path) -> Path | None:
    """The top level of the one git work tree that holds every path, or None when they are not in one."""
    tops: set[Path] = set()
    for path in paths or [Path(".")]:
        where = _existing_dir((cwd / path).absolute())
        result = _git(["rev-parse", "--show-toplevel"], where)
        if result.returncode != 0:
            return None
        tops.add(Path(os.fsdecode(result.stdout.strip())).resolve())
    if len(tops) != 1:
        raise SourceError("the paths are in different git repositories: " + ", ".join(sorted(map(str, tops))))
    return tops.pop()


def is_revision(text: str, repo: Path) -> str | None:
    """The commit id that ``text`` names in ``repo`` (``origin/main``, ``HEAD~1``, a tag, an id), or None."""
    if not text or text.startswith("-"):
        return None
    result = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{text}^{{commit}}"], repo)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _relative(path: Path, repo: Path, cwd: Path) -> PurePosixPath:
    absolute = (cwd / path).absolute()
    resolved = _existing_dir(absolute).resolve() / absolute.relative_to(_existing_dir(absolute))
    try:
        return PurePosixPath(resolved.relative_to(repo).as_posix())
    except ValueError:
        raise SourceError(f"{path} is not inside the git repository {repo}") from None


def _tree_entries(commit: str, rel: PurePosixPath, repo: Path) -> list[tuple[str, str, PurePosixPath]]:
    """``(mode, object id, path)`` of the blobs at or under ``rel`` in ``commit``."""
    spec = str(rel) if str(rel) != "." else ""
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    result = _git([*args, "--", spec] if spec else args, repo)
    if result.returncode != 0:
        raise SourceError(f"git ls-tree {commit} -- {spec}: {result.stderr.decode(errors='replace').strip()}")
    entries = []
    for record in result.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, oid = meta.decode().split(" ")
        if kind == "blob":
            entries.append((mode, oid, PurePosixPath(os.fsdecode(name))))
    return entries


def _read_blobs(oids: Sequence[str], repo: Path) -> dict[str, bytes]:
    if not oids:
        return {}
    result = _git(["cat-file", "--batch"], repo, stdin="".join(f"{oid}\n" for oid in oids).encode())
    if result.returncode != 0:
        raise SourceError(f"git cat-file: {result.stderr.decode(errors='replace').strip()}")
    out, blobs, at = result.stdout, {}, 0
    for _ in oids:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].decode().split(" ")
        if len(header) != 3 or header[1] != "blob":
            raise SourceError(f"git cat-file: unexpected {' '.join(header)!r}")
        oid, size = header[0], header[2]
        start = header_end + 1
        blobs[oid] = out[start:start + int(size)]
        at = start + int(size) + 1
    return blobs


def _extract(commit: str, rels: Sequence[PurePosixPath], repo: Path, into: Path) -> list[Path]:
    """Write the files at ``rels`` in ``commit`` under ``into``; the paths under ``into`` that exist there."""
    wanted: list[tuple[str, PurePosixPath]] = []
    found: list[Path] = []
    for rel in rels:
        entries = _tree_entries(commit, rel, repo)
        if not entries:
            continue  # not in that revision: no base for this path
        place = into.joinpath(*rel.parts)
        if len(entries) == 1 and entries[0][2] == rel:  # a file: taken whatever its name
            if entries[0][0] in _BLOB_MODES:
                wanted.append((entries[0][1], rel))
                found.append(place)
            continue
        place.mkdir(parents=True, exist_ok=True)  # a directory: its YAML files (maybe none)
        found.append(place)
        wanted += [(oid, name) for mode, oid, name in entries
                   if mode in _BLOB_MODES and name.name.endswith(YAML_SUFFIXES)]
    blobs = _read_blobs(sorted({oid for oid, _ in wanted}), repo)
    for oid, name in wanted:
        if ".." in name.parts or name.is_absolute():
            continue  # git never writes such a tree; a crafted one is not followed out of the directory
        target = into.joinpath(*name.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blobs[oid])
    return list(dict.fromkeys(found))


@contextmanager
def base_paths(bases: Sequence[str], paths: Sequence[Path], cwd: Path | None = None) -> Iterator[list[Path]]:
    """The files before the change, for each ``--base``: a path as it is, or a revision extracted.

    ``bases``: what the user wrote after ``--base`` (each a file, a directory or a git revision); ``paths``:
    the PATHs being checked, which a revision maps to the same relative paths in its tree.  A base that
    exists as a file or directory is taken as one, even when it also names a revision.  Yields the paths
    to read; temporary files are removed on exit.  Raises :class:`SourceError` for a base that is neither.
    """
    here = (cwd or Path.cwd()).absolute()
    result: list[Path] = []
    temp: list[Path] = []
    try:
        repo: Path | None = None
        looked = False
        for base in bases:
            if (here / base).exists():
                result.append(Path(base))
                continue
            if not looked:
                repo, looked = repository_of(paths, here), True
            if repo is None:
                raise SourceError(f"--base {base}: no such file or directory, and the paths are not in a git "
                                  "repository where it could be a revision")
            commit = is_revision(base, repo)
            if commit is None:
                raise SourceError(f"--base {base}: neither a file or directory nor a revision of the git "
                                  f"repository {repo} (a branch such as origin/main, HEAD~1, a tag or a commit)")
            into = Path(tempfile.mkdtemp(prefix="awsorg-base-"))
            temp.append(into)
            rels = [_relative(p, repo, here) for p in (paths or [Path(".")])]
            result.extend(_extract(commit, rels, repo, into))
        yield result
    finally:
        for directory in temp:
            shutil.rmtree(directory, ignore_errors=True)
