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

The pull request is hostile input.  Git runs with ``safe.bareRepository=explicit``: a directory of the pull request
shaped like a bare repository (``HEAD``, ``objects/``, ``refs/``, a ``config`` that would set a work tree or run a
command) is never taken for a repository, so the repository found from the paths is the checkout's own, whatever
the pull request contains; and a ``--base`` that names a revision is that revision even when the pull request
adds a directory of that name (``./origin/main`` names the directory).  Without ``--base`` (and ``--cluster``),
``awsorg plan`` takes the merge base of ``HEAD`` with the upstream branch (:func:`default_base`).

Files of the change are read through :func:`read_text`: a symbolic link leaving the checkout, a FIFO, a device,
a socket or a file over :data:`MAX_FILE_BYTES` is refused with a clear error, never opened for reading (a link
to ``/dev/zero`` would never end) and never echoed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

__all__ = ["MAX_FILE_BYTES", "SourceError", "UnsafeFile", "base_paths", "checkout_root", "default_base", "is_revision",
           "read_text", "repository_of", "yaml_files"]

YAML_SUFFIXES = (".yaml", ".yml")
_BLOB_MODES = ("100644", "100755")
# The largest YAML file read: an export of 5,000 accounts is ~1 MB of YAML (measured: 985,560 bytes), which the
# pure-Python parser took 72 s to decode on a shared, loaded 2-core machine (2026-12-07): past 2 MiB, refused.
MAX_FILE_BYTES = 2 * 1024 * 1024


class SourceError(Exception):
    """A base that is neither a path nor a revision, or a revision that cannot be read."""


class UnsafeFile(SourceError):
    """A file of the change that is not read: ``reason`` says what it is and what is allowed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# What points git at another repository than the one found from the paths: git sets GIT_DIR and others for hooks
# and for `git rebase --exec`, and the paths are to decide which repository is read.
_REPOSITORY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    # A bare repository is used only when named (never one found in a directory of the pull request), and no
    # command of the repository's own making runs (fsmonitor).
    safe = ["-c", "safe.bareRepository=explicit", "-c", "core.fsmonitor=false"]
    try:
        return subprocess.run(["git", *safe, "--literal-pathspecs", *args], cwd=cwd, input=stdin, capture_output=True,
                              env=env, check=False, timeout=120)
    except FileNotFoundError as exc:  # no git on this machine
        raise SourceError(f"git is not installed ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"git {' '.join(args[:2])} did not answer within {exc.timeout:.0f} s") from exc


def _existing_dir(path: Path) -> Path:
    """The nearest existing directory at or above ``path`` (which may not exist: a deleted directory)."""
    current = path if path.is_dir() else path.parent
    while not current.is_dir() and current != current.parent:
        current = current.parent
    return current


def _toplevel(where: Path) -> Path | None:
    """The top level of the work tree that holds ``where``, searched from ``where`` up.  A directory shaped like a
    bare repository (which git, told ``safe.bareRepository=explicit``, refuses instead of looking further up) is
    stepped over: the search goes on from its parent, up to the checkout's own ``.git``."""
    current = where
    while True:
        result = _git(["rev-parse", "--show-toplevel"], current)
        if result.returncode == 0 and result.stdout.strip():
            return Path(os.fsdecode(result.stdout.strip())).resolve()
        if b"safe.bareRepository" not in result.stderr or current == current.parent:
            return None
        current = current.parent


def repository_of(paths: Sequence[Path], cwd: Path) -> Path | None:
    """The top level of the one git work tree that holds every path, or None when they are not in one.  A bare
    repository is never found (``safe.bareRepository=explicit``): a directory of the pull request shaped like one
    is a directory, and the search goes on up to the checkout's root."""
    tops: set[Path] = set()
    for path in paths or [Path(".")]:
        top = _toplevel(_existing_dir((cwd / path).absolute()))
        if top is None:
            return None
        tops.add(top)
    if len(tops) != 1:
        raise SourceError("the paths are in different git repositories: " + ", ".join(sorted(map(str, tops))))
    return tops.pop()


def checkout_root(path: Path, cwd: Path | None = None) -> Path:
    """Where the files of ``path`` may lead: the git work tree that holds ``path`` (bare repositories refused), else
    ``path`` itself (its directory, for a file)."""
    absolute = ((cwd or Path.cwd()).absolute() / path).absolute()
    top = _toplevel(_existing_dir(absolute))
    if top is not None:
        return top
    resolved = absolute.resolve()
    return resolved if resolved.is_dir() else resolved.parent


def _what(mode: int) -> str | None:
    for test, words in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return words
    return None if stat.S_ISREG(mode) else "not a regular file"


_ALLOWED = f"allowed: regular files inside the checkout, of at most {MAX_FILE_BYTES:,} bytes"


def read_text(path: Path, root: Path) -> str:
    """The UTF-8 text of ``path``, a file of the change under ``root`` (:func:`checkout_root`).

    Raises :class:`UnsafeFile` for a symbolic link whose target is outside ``root`` (its target is not named: it is
    the pull request's choice), a FIFO, a device, a socket, or more than :data:`MAX_FILE_BYTES` bytes; the file is
    opened without blocking and read no further than the cap, whatever it turns into meanwhile.  ``OSError`` and
    ``UnicodeDecodeError`` as reading a file raises them.
    """
    target = path.resolve()
    if target != root and root not in target.parents:
        raise UnsafeFile(path, f"a symbolic link to a file outside the checkout {root}; not read; {_ALLOWED}")
    mode = os.stat(path).st_mode
    refused = _what(mode)
    if refused is not None:
        raise UnsafeFile(path, f"{refused}, not a regular file; not read; {_ALLOWED}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        refused = _what(info.st_mode)
        if refused is not None:
            raise UnsafeFile(path, f"{refused}, not a regular file; not read; {_ALLOWED}")
        if info.st_size > MAX_FILE_BYTES:
            raise UnsafeFile(path, f"{info.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} read; {_ALLOWED}")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise UnsafeFile(path, f"more than {MAX_FILE_BYTES:,} bytes; {_ALLOWED}")
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


def yaml_files(path: Path) -> list[Path] | None:
    """The ``*.yaml``/``*.yml`` files of a directory (recursively, hidden directories aside, symbolic links to
    directories not followed), or ``path`` itself for anything else that exists; None when it does not exist."""
    if path.is_dir():
        files: list[Path] = []
        for top, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(Path(top) / n for n in sorted(names) if n.endswith(YAML_SUFFIXES))
        return files
    if path.exists() or path.is_symlink():
        return [path]
    return None


def default_base(paths: Sequence[Path], cwd: Path | None = None) -> tuple[str, str] | None:
    """For ``awsorg plan`` without ``--base``: ``(commit, what it is)``, the merge base of ``HEAD`` with the branch it
    will be merged into: its upstream (``@{upstream}``), else ``origin/$GITHUB_BASE_REF`` (a GitHub Actions pull
    request), else ``origin/HEAD``.  None outside a git checkout or when none of them exists."""
    here = (cwd or Path.cwd()).absolute()
    repo = repository_of(paths, here)
    if repo is None:
        return None
    candidates = ["@{upstream}"]
    if os.environ.get("GITHUB_BASE_REF"):
        candidates.append(f"origin/{os.environ['GITHUB_BASE_REF']}")
    candidates.append("origin/HEAD")
    for candidate in candidates:
        named = _git(["rev-parse", "--verify", "--quiet", "--symbolic-full-name", candidate], repo)
        commit = is_revision(candidate, repo)
        if commit is None:
            continue
        found = _git(["merge-base", "HEAD", commit], repo)
        if found.returncode != 0 or not found.stdout.strip():
            continue
        name = named.stdout.decode(errors="replace").strip().removeprefix("refs/remotes/").removeprefix("refs/heads/")
        return found.stdout.decode().strip(), f"the merge base of HEAD with {name or candidate}"
    return None


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


def _blob_sizes(oids: Sequence[str], repo: Path) -> dict[str, int]:
    if not oids:
        return {}
    result = _git(["cat-file", "--batch-check"], repo, stdin="".join(f"{oid}\n" for oid in oids).encode())
    sizes = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


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
    oids = sorted({oid for oid, _ in wanted})
    sizes = _blob_sizes(oids, repo)
    for oid, name in wanted:
        if sizes.get(oid, 0) > MAX_FILE_BYTES:
            raise SourceError(f"{name} at {commit[:12]}: {sizes[oid]:,} bytes, more than the {MAX_FILE_BYTES:,} read")
    blobs = _read_blobs(oids, repo)
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
    names a revision of the paths' repository is that revision, even when a file or directory of that name exists
    (the pull request could have added one; ``./name`` is the path); any other is a path.  Yields the paths
    to read; temporary files are removed on exit.  Raises :class:`SourceError` for a base that is neither.
    """
    here = (cwd or Path.cwd()).absolute()
    result: list[Path] = []
    temp: list[Path] = []
    try:
        repo: Path | None = None
        looked = False
        for base in bases:
            if not looked:
                repo, looked = repository_of(paths, here), True
            as_path = (here / base).exists()
            revision = is_revision(base, repo) if repo is not None and not base.startswith(("./", "/")) else None
            if as_path and revision is None:
                result.append(Path(base))
                continue
            if repo is None:
                raise SourceError(f"--base {base}: no such file or directory, and the paths are not in a git "
                                  "repository where it could be a revision")
            commit = revision
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
