"""SIGTERM ends the operator within its grace period whatever the API server's state.

The real operator (``python -m controller run``) against the sandbox API server, made unreachable (every request
accepted and never answered, the watches ended), then SIGTERM: the process exits in less
than the Deployment's ``terminationGracePeriodSeconds`` (after which the kubelet sends SIGKILL, mid-call).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from controller.api.crds import all_crds
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.e2e.harness import DEPLOY, Cluster, Operator, deployed, free_port, orgunit

pytestmark = pytest.mark.e2e


def deployment() -> dict[str, Any]:
    return next(o for o in deployed() if o["kind"] == "Deployment")


@pytest.fixture
def kube() -> Iterator[KubeSandbox]:
    """The sandbox API as the Kustomize base makes it: our CRDs, kopf's peering CRD and the peering object."""
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kopf-peering.yaml").read_text()) if d]
    sandbox = KubeSandbox([*all_crds(), next(d for d in docs if d["kind"] == "CustomResourceDefinition")])
    sandbox.start()
    KubeClient(sandbox.url, group="kopf.dev", version="v1").create(
        next(d for d in docs if d["kind"] == "ClusterKopfPeering"), "clusterkopfpeerings")
    yield sandbox
    sandbox.stop()


def grace_period() -> float:
    return float(deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])


def _stopped_in(op: Operator) -> float:
    assert op.proc is not None and op.proc.poll() is None, op.log()[-3000:]
    started = time.monotonic()
    op.proc.send_signal(signal.SIGTERM)
    try:
        op.proc.wait(timeout=grace_period() + 60)
    except Exception:
        op.proc.kill()
        op.proc.wait()
        return float("inf")
    return time.monotonic() - started


def test_sigterm_ends_the_operator_within_its_grace_period(
    aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    container = deployment()["spec"]["template"]["spec"]["containers"][0]
    args = [a.replace(":8080", f":{free_port()}") for a in container["args"]]  # --peering, --liveness as deployed
    op = start_operator(*args, AWSORG_RESYNC_SECONDS="1", AWSORG_PEERING_LIFETIME_SECONDS="60")
    for name in ("alpha", "beta", "gamma"):
        cluster.client.apply(orgunit(name, name=name.capitalize()))
    for name in ("alpha", "beta", "gamma"):
        cluster.wait_ready("orgunits", name, timeout=60)
    org = aws.client()
    for ou in org.list_organizational_units_for_parent(ParentId=aws.ids["root_id"])["OrganizationalUnits"]:
        org.update_organizational_unit(OrganizationalUnitId=ou["Id"], Name=f"console-{ou['Name']}")  # to write
    kube.call(lambda emu: emu.partition())
    time.sleep(3)  # resyncs run into the trouble: status writes pending, watches re-trying
    took = _stopped_in(op)
    assert took < grace_period(), f"took {took:.1f}s\n" + op.log()[-3000:]
    after = op.log().partition("SIGTERM received: stopping")[2]
    assert after, op.log()[-3000:]
    assert "resync of" not in after, after  # the resync ended at the signal, not a pass more
    kube.call(lambda emu: emu.heal())
