"""What a release is made of: one version (pyproject.toml) that the code, deploy/, the examples and the changelog
follow; the licence the metadata declares; a changelog in Keep a Changelog's form; and the release workflow's step
that writes the pushed image's digest into deploy/, run here on a copy of deploy/ and rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SEMVER = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?"


def test_the_version_is_pyproject_s_and_the_code_reads_it_from_the_metadata() -> None:
    import controller

    assert re.fullmatch(SEMVER, VERSION), VERSION
    assert controller.__version__ == VERSION, "pip install -e . again: the installed metadata is stale"
    source = (ROOT / "controller" / "__init__.py").read_text()
    assert VERSION not in source and "importlib.metadata" in source, "the version is written only in pyproject"
    out = subprocess.run([sys.executable, "-m", "controller.cli", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.stdout.strip() == f"awsorg {VERSION}", out.stdout + out.stderr


def test_deploy_and_the_examples_name_this_version() -> None:
    kustomization = yaml.safe_load((ROOT / "deploy" / "kustomization.yaml").read_text())
    (image,) = [i for i in kustomization["images"] if i["name"] == "awsorg-operator"]
    assert image["newTag"] == VERSION, "deploy/kustomization.yaml's image tag is not pyproject's version"
    if "digest" in image:  # written by the release workflow
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"]), image["digest"]
    app = yaml.safe_load((ROOT / "deploy" / "argocd" / "application-operator.yaml").read_text())
    assert app["spec"]["source"]["targetRevision"] == f"v{VERSION}"
    # Every version named next to the project's image or tag, in the docs and examples, is this one.
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.yaml"))]:
        text = path.read_text()
        for found in re.findall(rf"awsorg-operator(?::|@v)({SEMVER})\b", text):
            assert found == VERSION, f"{path.relative_to(ROOT)} names awsorg-operator {found}, not {VERSION}"


def test_the_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    releases = re.findall(rf"^## \[({SEMVER}|Unreleased)\](?: - (\d{{4}}-\d{{2}}-\d{{2}}|Unreleased))?$", text, re.M)
    headings = re.findall(r"^## .*$", text, re.M)
    assert len(releases) == len(headings), f"a release heading is not `## [x.y.z] - YYYY-MM-DD`: {headings}"
    versions = [v for v, _ in releases if v != "Unreleased"]
    assert versions and versions[0] == VERSION, f"the newest release in CHANGELOG.md is not {VERSION}"
    sections = set(re.findall(r"^### (.*)$", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, sections


def test_the_licence_is_the_one_the_metadata_declares() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "http://www.apache.org/licenses/LICENSE-2.0" in text
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (ROOT / "Dockerfile").read_text()


def _workflow_step(name: str) -> str:
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "release-workflow.yaml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    (step,) = [s for s in steps if s.get("name") == name]
    return str(step["run"])


def test_the_release_workflow_writes_the_digest_into_deploy(tmp_path: Path) -> None:
    """The workflow's own Python (between ``<<'PY'`` and ``PY``), run on a copy of deploy/: the image renders as
    ``name:version@digest``, with kubectl as with the Python renderer."""
    script = re.search(r"<<'PY'\n(.*?)\nPY\n", _workflow_step("Write the digest into deploy/"), re.S)
    assert script, "the step's embedded Python"
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    digest = "sha256:" + "ab" * 32
    env = {"IMAGE": "ghcr.io/acme/awsorg-operator", "VERSION": VERSION, "DIGEST": digest, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script.group(1)], cwd=tmp_path, env=env, check=True, timeout=60)
    expected = f"ghcr.io/acme/awsorg-operator:{VERSION}@{digest}"
    (deployment,) = [o for o in render(deploy) if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == expected
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(deploy)], capture_output=True, text=True, timeout=60)
        assert f"image: {expected}" in out.stdout, out.stderr
    # and a second run (a re-tag) replaces the entry instead of adding one
    subprocess.run([sys.executable, "-c", script.group(1)], cwd=tmp_path, env=env, check=True, timeout=60)
    images = yaml.safe_load((deploy / "kustomization.yaml").read_text())["images"]
    assert images == [{"name": "awsorg-operator", "newName": env["IMAGE"], "newTag": VERSION, "digest": digest}]


def test_the_release_workflow_checks_the_tag_scans_before_pushing_and_reads_the_digest_back() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "release-workflow.yaml").read_text())
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}
    names = [s.get("name") for s in workflow["jobs"]["image"]["steps"]]
    assert names.index("Scan (before anything is pushed)") < names.index("Push")
    assert "--exit-code 1" in _workflow_step("Scan (before anything is pushed)")
    assert "--digestfile" in _workflow_step("Push") and "skopeo inspect" in _workflow_step("Push")
    assert 'test "${GITHUB_REF_NAME}" = "v${version}"' in _workflow_step("The tag is the version")
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"not pinned: {step['uses']}"


@pytest.mark.parametrize("path", ["deploy/iam-policy.json", "deploy/member-role-policy.json",
                                  "deploy/irsa-trust-policy.json", "deploy/plan-policy.json",
                                  "deploy/plan-member-policy.json"])
def test_the_policies_a_release_ships_are_json_aws_reads(path: str) -> None:
    import json

    policy = json.loads((ROOT / path).read_text())
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids), sids
    # "Managed policy size: 6,144 characters", whitespace not counted (IAM User Guide, "IAM and AWS STS quotas",
    # read 2026-12-07).
    assert len(json.dumps(policy, separators=(",", ":"))) <= 6144, "IAM's managed policy size limit"
