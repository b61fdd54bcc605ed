"""The real kopf operator (as a subprocess) against the sandbox Kubernetes API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.sandbox.conftest import GROUP, PLURAL, VERSION, widget

T = TypeVar("T")

OPERATOR = textwrap.dedent(f"""
    import logging
    import kopf

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_):
        settings.persistence.finalizer = "sandbox.test.dev/finalizer"
        settings.posting.level = logging.INFO
        settings.posting.loggers = True
        settings.watching.server_timeout = 1  # exercise re-watching from a resourceVersion

    @kopf.on.create("{GROUP}", "{VERSION}", "{PLURAL}")
    def on_create(body, spec, meta, patch, logger, **_):
        kopf.info(body, reason="Widgeting", message="creating the widget")
        patch.status["phase"] = "Created"
        patch.status["seenSize"] = spec.get("size")
        patch.status["observedGeneration"] = meta["generation"]
        patch.status["conditions"] = [{{"type": "Ready", "status": "True", "reason": "Created"}}]
        logger.info("MARK create %s size=%s", meta["name"], spec.get("size"))

    @kopf.on.update("{GROUP}", "{VERSION}", "{PLURAL}")
    def on_update(spec, meta, patch, logger, **_):
        patch.status["phase"] = "Updated"
        patch.status["seenSize"] = spec.get("size")
        patch.status["observedGeneration"] = meta["generation"]
        logger.info("MARK update %s size=%s", meta["name"], spec.get("size"))

    @kopf.on.delete("{GROUP}", "{VERSION}", "{PLURAL}")
    def on_delete(meta, logger, **_):
        logger.info("MARK delete %s", meta["name"])
""")


def wait_for(fn: Callable[[], T | None], timeout: float, what: str, log: Path | None = None) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fn()
        if result:
            return result
        time.sleep(0.05)
    tail = log.read_text()[-6000:] if log is not None and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture
def kopf_operator(kube_sandbox: KubeSandbox, tmp_path: Path) -> Iterator[Path]:
    script = tmp_path / "operator.py"
    script.write_text(OPERATOR)
    kubeconfig = kube_sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    log = tmp_path / "kopf.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["KUBECONFIG"] = str(kubeconfig)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces", "--verbose", str(script)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )
    try:
        wait_for(lambda: "watch-stream for widgets" in log.read_text() or proc.poll() is not None,
                 20, "kopf to start watching", log)
        assert proc.poll() is None, log.read_text()
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_kopf_create_update_delete(kopf_operator: Path, kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    log = kopf_operator
    kclient.create(widget("alpha", size=4), PLURAL)

    def status_is(phase: str, size: int) -> dict[str, Any] | None:
        obj = kclient.get(PLURAL, "alpha")
        status = obj.get("status") or {}
        return obj if status.get("phase") == phase and status.get("seenSize") == size else None

    created = wait_for(lambda: status_is("Created", 4), 15, "the create handler's status", log)
    assert created["metadata"]["generation"] == 1
    assert "sandbox.test.dev/finalizer" in created["metadata"].get("finalizers", [])

    kclient.patch(PLURAL, "alpha", {"spec": {"size": 7}})
    updated = wait_for(lambda: status_is("Updated", 7), 15, "the update handler's status", log)
    assert updated["metadata"]["generation"] == 2
    assert updated["status"]["observedGeneration"] == 2

    # Let kopf idle through a server-side watch timeout and re-watch from its last resourceVersion.
    time.sleep(1.5)
    kclient.delete(PLURAL, "alpha")
    wait_for(lambda: kube_sandbox.get(PLURAL, "alpha", GROUP) is None, 15, "the object to disappear", log)
    wait_for(lambda: "MARK delete alpha" in log.read_text(), 5, "the delete handler", log)

    text = log.read_text()
    # Each handler ran exactly once: no stale bodies replayed, no retry loops.
    assert len(re.findall(r"MARK create alpha", text)) == 1, text[-6000:]
    assert len(re.findall(r"MARK update alpha", text)) == 1, text[-6000:]
    assert len(re.findall(r"MARK delete alpha", text)) == 1, text[-6000:]
    assert "Traceback" not in text, text[-6000:]
    assert "[ERROR" not in text and "ERROR  " not in text, text[-6000:]
    assert "Patching failed with inconsistencies" not in text, text[-6000:]
    assert text.count("Could not apply the patch in full") <= 1, text[-6000:]
    assert "Unprocessable" not in text, text[-6000:]

    # kopf posted its events (for a cluster-scoped object: into the default namespace).
    events = kube_sandbox.events()
    assert any(e.get("involvedObject", {}).get("name") == "alpha" for e in events)
    assert all(e["metadata"]["namespace"] == "default" for e in events)
