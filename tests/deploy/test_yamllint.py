"""yamllint over deploy/ (Debian's yamllint, installed by `make test`; an optional style check, so it is
skipped where yamllint is absent; the objects themselves are validated in test_kustomize.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ("{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
          "indentation: {indent-sequences: consistent}, comments: {min-spaces-from-content: 1}}}")
OURS = ["deploy/kustomization.yaml", "deploy/namespace.yaml", "deploy/kopf-peering.yaml",
        "deploy/serviceaccount.yaml", "deploy/rbac.yaml", "deploy/deployment.yaml", "deploy/service.yaml",
        "deploy/networkpolicy.yaml", "deploy/monitoring/kustomization.yaml", "deploy/monitoring/servicemonitor.yaml",
        "deploy/argocd", "docs/examples/overlay-monitoring", "docs/examples/release-workflow.yaml"]


@pytest.mark.skipif(shutil.which("yamllint") is None, reason="yamllint is not installed (apt-get install yamllint)")
def test_yamllint() -> None:
    result = subprocess.run(["yamllint", "--strict", "-d", CONFIG, *OURS], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
