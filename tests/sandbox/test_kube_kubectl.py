"""The real kubectl against the sandbox Kubernetes API (skipped where kubectl is not installed)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.sandbox.conftest import PLURAL, WIDGET_CRD, widget

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
PROJECT_CRDS = Path(__file__).resolve().parents[2] / "crds"

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def make_kubectl(sandbox: KubeSandbox, tmp_path: Path) -> Kubectl:
    kubeconfig = sandbox.write_kubeconfig(tmp_path / "kubeconfig")

    def kubectl(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        cmd = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    return kubectl


@pytest.fixture
def kubectl(kube_sandbox: KubeSandbox, tmp_path: Path) -> Kubectl:
    return make_kubectl(kube_sandbox, tmp_path)


def manifest(tmp_path: Path, *objs: dict[str, Any]) -> str:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    return str(path)


def test_kubectl_apply_get_patch_delete(kubectl: Kubectl, kclient: KubeClient, tmp_path: Path) -> None:
    alpha = widget("alpha", size=4, parentRef={"name": "root"})
    beta = widget("beta")
    out = kubectl("apply", "-f", manifest(tmp_path, alpha, beta)).stdout
    assert "widget.sandbox.test.dev/alpha created" in out and "widget.sandbox.test.dev/beta created" in out

    alpha["spec"]["size"] = 5
    out = kubectl("apply", "-f", manifest(tmp_path, alpha, beta)).stdout
    assert "widget.sandbox.test.dev/alpha configured" in out and "widget.sandbox.test.dev/beta unchanged" in out
    stored = kclient.get(PLURAL, "alpha")
    assert stored["spec"]["size"] == 5 and stored["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]

    kubectl("patch", "wg", "alpha", "--subresource=status", "--type=merge",
            "-p", '{"status": {"phase": "Created", "conditions": [{"type": "Ready", "status": "True"}]}}')

    table = kubectl("get", "wg").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "REF", "READY", "AGE"]
    assert table[1].split()[:4] == ["alpha", "5", "root", "True"]
    assert table[1].split()[4].endswith("s")  # an age, not a timestamp
    assert table[2].split()[:2] == ["beta", "3"]
    wide = kubectl("get", "widgets", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "REF", "READY", "PHASE", "AGE"]
    by_category = kubectl("get", "testcat").stdout.splitlines()  # one kind: no kind prefix
    assert [line.split()[0] for line in by_category[1:]] == ["alpha", "beta"]

    as_yaml = yaml.safe_load(kubectl("get", "wg", "alpha", "-o", "yaml").stdout)
    assert as_yaml["spec"]["size"] == 5 and as_yaml["status"]["phase"] == "Created"
    assert kubectl("get", "wg", "alpha", "-o", "jsonpath={.spec.parentRef.name}").stdout == "root"

    out = kubectl("delete", "-f", manifest(tmp_path, alpha, beta)).stdout
    assert 'widget.sandbox.test.dev "alpha" deleted' in out
    missing = kubectl("get", "wg", "alpha", check=False)
    assert missing.returncode != 0
    assert 'widgets.sandbox.test.dev "alpha" not found' in missing.stderr


def test_kubectl_shows_validation_errors(kubectl: Kubectl, tmp_path: Path) -> None:
    bad = widget("alpha", name="x" * 20)
    result = kubectl("apply", "-f", manifest(tmp_path, bad), check=False)
    assert result.returncode != 0
    assert 'The Widget "alpha" is invalid: spec.name: Too long: may not be more than 16 bytes' in result.stderr
    unknown = widget("beta", bogus=True)
    result = kubectl("apply", "-f", manifest(tmp_path, unknown), check=False)
    assert result.returncode != 0 and 'unknown field "spec.bogus"' in result.stderr

    kubectl("apply", "-f", manifest(tmp_path, widget("gamma", email="a@example.com")))
    changed = widget("gamma", email="b@example.com")
    result = kubectl("apply", "-f", manifest(tmp_path, changed), check=False)
    assert result.returncode != 0 and "spec.email: Invalid value" in result.stderr
    assert "email is immutable" in result.stderr


def test_kubectl_watch(kubectl: Kubectl, kclient: KubeClient, kube_sandbox: KubeSandbox, tmp_path: Path) -> None:
    kclient.create(widget("alpha"), PLURAL)
    assert KUBECTL is not None
    kubeconfig = kube_sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    proc = subprocess.Popen([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
                             "get", "wg", "--watch", "--output-watch-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines[0].split()[:2] == ["EVENT", "NAME"]
        assert lines[1].split()[:2] == ["ADDED", "alpha"]
        time.sleep(0.2)
        kclient.create(widget("beta"), PLURAL)
        assert proc.stdout.readline().split()[:2] == ["ADDED", "beta"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def project_sandbox() -> Iterator[KubeSandbox]:
    crds = [yaml.safe_load(p.read_text()) for p in sorted(PROJECT_CRDS.glob("*.yaml"))]
    if not crds:
        pytest.skip("no project CRDs in crds/")
    sandbox = KubeSandbox([*crds, WIDGET_CRD]).start()
    yield sandbox
    sandbox.stop()


def test_kubectl_with_the_project_crds(project_sandbox: KubeSandbox, tmp_path: Path) -> None:
    kubectl = make_kubectl(project_sandbox, tmp_path)
    ou = {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "OrgUnit", "metadata": {"name": "prod"},
          "spec": {"name": "Production"}}
    assert "orgunit.awsorg.gitops.dev/prod created" in kubectl("apply", "-f", manifest(tmp_path, ou)).stdout
    assert kubectl("get", "ou").stdout.splitlines()[1].split()[0] == "prod"
    assert "orgunit.awsorg.gitops.dev/prod" in kubectl("get", "awsorg").stdout
    assert "orgunits.awsorg.gitops.dev" in kubectl("get", "crd").stdout
    assert kubectl("delete", "ou", "prod").returncode == 0
