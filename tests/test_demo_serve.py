"""`awsorg demo --serve`: a user points kubectl at the sandbox and sees what they would see in a cluster."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from controller.sandbox.kubeclient import KubeClient, KubeError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Path, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--serve", "--no-drift"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    kubeconfig = None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"export KUBECONFIG=(\S+)", line)
        if found:
            kubeconfig = Path(found.group(1))
            break
    if kubeconfig is None:
        proc.kill()
        pytest.fail("demo --serve printed no kubeconfig:\n" + "".join(lines))
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    yield kubeconfig, server
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    return subprocess.run(["kubectl", *args], env=env, input=stdin, capture_output=True, text=True, timeout=30)


LONG = "x" * 200
BAD_OU = {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "OrgUnit", "metadata": {"name": "too-long"},
          "spec": {"name": LONG}}


def test_a_200_character_ou_name_is_refused_naming_the_field(served: tuple[Path, str]) -> None:
    client = KubeClient(served[1])
    with pytest.raises(KubeError) as exc:
        client.create(BAD_OU)
    assert exc.value.status == 422
    assert "spec.name" in exc.value.message and "128" in exc.value.message


def test_email_is_immutable_at_the_api(served: tuple[Path, str]) -> None:
    client = KubeClient(served[1])
    with pytest.raises(KubeError) as exc:
        client.patch("awsaccounts", "production", {"spec": {"email": "someone-else@example.com"}})
    assert exc.value.status == 422
    assert "spec.email" in exc.value.message and "immutable" in exc.value.message


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_get_prints_the_columns(served: tuple[Path, str]) -> None:
    out = kubectl(served[0], "get", "ou")
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header == ["NAME", "ID", "PATH", "READY", "SYNCED", "DRIFTED", "AGE"]
    assert re.search(r"^production\s+ou-\S+\s+Root/Production\s+True\s+True\s+False", out.stdout, re.M)
    everything = kubectl(served[0], "get", "awsorg")
    assert everything.returncode == 0, everything.stderr
    for kind in ("orgunit.awsorg.gitops.dev/production", "awsaccount.awsorg.gitops.dev/staging"):
        assert kind in everything.stdout


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_apply_of_a_bad_ou_is_refused(served: tuple[Path, str]) -> None:
    out = kubectl(served[0], "apply", "-f", "-", stdin=yaml.safe_dump(BAD_OU))
    assert out.returncode != 0
    assert "spec.name: Too long: may not be more than 128" in out.stderr


def test_serve_prints_the_metrics_url_and_the_log_and_reports_a_dead_operator() -> None:
    """When the operator dies, ``demo --serve`` says so, exits non-zero, and keeps the operator's log."""
    proc = subprocess.Popen([sys.executable, "-m", "controller", "demo", "--serve", "--no-drift"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    log_path = metrics = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and log_path is None:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        metrics = metrics or re.search(r"metrics: (http://127\.0\.0\.1:\d+/metrics)", line)
        if found := re.search(r"The operator's log: (\S+)", line):
            log_path = Path(found.group(1))
    try:
        assert metrics is not None and log_path is not None, "".join(out)
        import urllib.request
        assert b"awsorg_" in urllib.request.urlopen(metrics.group(1), timeout=10).read()
        pid = int(re.search(r"^(\d+)$", subprocess.run(  # the demo's operator: its only child
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.strip(), re.M).group(1))  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == 1
        err = proc.stderr.read()
        assert f"the operator exited with -9; its log is kept: {log_path}" in err, err
        assert log_path.exists() and "Handler 'reconcile' succeeded" in log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        if log_path is not None:
            shutil.rmtree(log_path.parent, ignore_errors=True)
