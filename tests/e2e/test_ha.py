"""High availability end to end: two real operators in one kopf peering, exactly one of them active.

As deployed (deploy/deployment.yaml, deploy/kopf-peering.yaml): kopf's ClusterKopfPeering CRD and the
peering object ``awsorg-operator`` exist, and every replica runs ``awsorg run --peering awsorg-operator``.
Here the priorities are explicit (100 and 50) and the keep-alive lifetime is short, so that the standby
takes over within seconds. "Acted on" is read from each operator's own log: kopf logs, prefixed with the
object's name, every handler it runs for an object.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api.crds import all_crds
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.e2e.harness import (
    Cluster,
    Operator,
    fail_if_refused,
    free_port,
    metric,
    operator_kubeconfig,
    orgunit,
    scrape,
    wait_for,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PEERING = "awsorg-operator"
LIFETIME = 3  # AWSORG_PEERING_LIFETIME_SECONDS: kopf then keeps alive every second
PAUSED = "Pausing operations in favour of"
RESUMED = "Resuming operations after the pause"
TIED = "Possibly conflicting operators with the same priority"


def _peering_manifests() -> tuple[dict[str, Any], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "kopf-peering.yaml").read_text()) if d]
    crd = next(d for d in docs if d["kind"] == "CustomResourceDefinition")
    peering = next(d for d in docs if d["kind"] == "ClusterKopfPeering")
    return crd, peering


def _peerings(kube: KubeSandbox) -> KubeClient:
    return KubeClient(kube.url, group="kopf.dev", version="v1")


@pytest.fixture
def kube() -> Iterator[KubeSandbox]:
    """The sandbox API with our CRDs plus kopf's peering CRD and the peering object, as the Kustomize base."""
    crd, peering = _peering_manifests()
    sandbox = KubeSandbox([*all_crds(), crd])
    sandbox.start()
    _peerings(sandbox).create(peering, "clusterkopfpeerings")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def start_peer(
    aws: AwsSandbox, kube: KubeSandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Operator]]:
    """``start_peer(name, priority)``: ``awsorg run --peering awsorg-operator --priority N``, own log file."""
    started: list[tuple[str, Operator]] = []
    kubeconfig = operator_kubeconfig(kube, tmp_path / "operator-kubeconfig")

    def start(name: str, priority: int, lifetime: int = LIFETIME) -> Operator:
        port = free_port()
        op = Operator(aws, kubeconfig, tmp_path / f"{name}.log",
                      args=["--peering", PEERING, "--priority", str(priority)],
                      AWSORG_PEERING_LIFETIME_SECONDS=str(lifetime), AWSORG_METRICS_PORT=str(port),
                      AWSORG_RESYNC_SECONDS="1").start()
        op.metrics_port = port  # type: ignore[attr-defined]
        started.append((name, op))
        return op

    yield start
    for _, op in started:
        op.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for name, op in started:
            print(f"----- {name} log -----\n" + op.log()[-6000:])
    if started:
        fail_if_refused(kube)


def handled(op: Operator, name: str) -> list[str]:
    """The lines in which kopf reports a handler it ran for the object ``name`` (log prefix ``[name]``)."""
    return [line for line in op.log().splitlines()
            if f"[{name}]" in line and re.search(r"Handler '[^']+' (succeeded|failed)", line)]


def created(op: Operator, name: str) -> bool:
    return any(f"[{name}]" in line and "Creation is processed" in line for line in op.log().splitlines())


def test_two_replicas_one_active_and_the_standby_takes_over(
    aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster, start_peer: Callable[..., Operator]
) -> None:
    # The lower priority starts first and, alone, works; when the higher priority joins (as a new pod in a
    # rollout), it pauses in favour of it. (kopf starts every peered operator paused until it has seen the
    # peering object, so a replica that starts second behind a higher priority never runs at all.)
    standby = start_peer("standby", 50)
    wait_for(lambda: RESUMED in standby.log(), timeout=15, what="the lone replica to start working")
    active = start_peer("active", 100)
    wait_for(lambda: PAUSED in standby.log(), timeout=15, what="the lower priority to pause")
    assert re.search(rf"{PAUSED} \[<Peer [^>]*priority=100", standby.log())
    wait_for(lambda: RESUMED in active.log(), timeout=15, what="the higher priority to start working")
    assert PAUSED not in active.log()
    peers = _peerings(kube).get("clusterkopfpeerings", PEERING)["status"]
    assert sorted(p["priority"] for p in peers.values()) == [50, 100]
    assert {p["lifetime"] for p in peers.values()} == {LIFETIME}

    cluster.client.apply(orgunit("first", name="First"))
    first = cluster.wait_ready("orgunits", "first")
    assert first["status"]["id"]
    wait_for(lambda: created(active, "first"), timeout=5, what="the active operator's 'Creation is processed'")
    assert handled(active, "first")
    time.sleep(0.5)  # anything the standby were to do would show by now
    assert handled(standby, "first") == [], "the standby acted although a higher-priority peer is alive"

    # The standby reports itself as such and does not read the organization (no doubled API cost).
    def reads(op: Operator) -> float:
        return metric(scrape(op.metrics_port), "awsorg_aws_api_calls_total",  # type: ignore[attr-defined]
                      operation="ListRoots", outcome="ok")

    assert metric(scrape(standby.metrics_port), "awsorg_operator_active") == 0  # type: ignore[attr-defined]
    assert metric(scrape(active.metrics_port), "awsorg_operator_active") == 1  # type: ignore[attr-defined]
    standby_reads, active_reads = reads(standby), reads(active)
    time.sleep(2.5)  # more than two resync intervals
    assert reads(standby) == standby_reads
    assert reads(active) > active_reads

    # The active replica dies without a word (no keep-alive withdrawal, as a node loss or OOM kill).
    active.kill()
    killed = time.monotonic()
    cluster.client.apply(orgunit("second", name="Second"))
    second = cluster.wait_ready("orgunits", "second", timeout=LIFETIME + 10)
    took = time.monotonic() - killed
    assert second["status"]["id"] != first["status"]["id"]
    assert standby.log().count(RESUMED) == 2  # alone at first, then after the take-over
    assert created(standby, "second")
    assert metric(scrape(standby.metrics_port), "awsorg_operator_active") == 1  # type: ignore[attr-defined]
    assert handled(active, "second") == []
    assert took < LIFETIME + 6, f"the standby took {took:.1f}s to take over (lifetime {LIFETIME}s)"
    ous = aws.client().list_organizational_units_for_parent(ParentId=aws.ids["root_id"])["OrganizationalUnits"]
    assert sorted(ou["Name"] for ou in ous) == ["First", "Second"]


def test_replicas_of_the_same_priority_both_pause(
    cluster: Cluster, start_peer: Callable[..., Operator]
) -> None:
    """Why ``awsorg run --peering`` picks a random priority: kopf pauses every peer of equal priority."""
    one = start_peer("one", 7)
    two = start_peer("two", 7)
    wait_for(lambda: all(TIED in op.log() for op in (one, two)), timeout=15, what="both operators to pause")
    cluster.client.apply(orgunit("nobody", name="Nobody"))
    time.sleep(2)
    obj = cluster.get("orgunits", "nobody")
    assert obj is not None and not (obj.get("status") or {}).get("conditions")
    assert handled(one, "nobody") == [] and handled(two, "nobody") == []


def test_a_stopped_replica_hands_over_at_once(cluster: Cluster, start_peer: Callable[..., Operator]) -> None:
    """A rollout or drain (SIGTERM) withdraws the keep-alive: the standby does not wait for the lifetime."""
    lifetime = 60
    standby = start_peer("standby", 50, lifetime)
    wait_for(lambda: RESUMED in standby.log(), timeout=15, what="the lone replica to start working")
    active = start_peer("active", 100, lifetime)
    wait_for(lambda: PAUSED in standby.log(), timeout=15, what="the lower priority to pause")
    wait_for(lambda: RESUMED in active.log(), timeout=15, what="the higher priority to start working")

    stopped = time.monotonic()
    active.stop()
    wait_for(lambda: standby.log().count(RESUMED) == 2, timeout=10, what="the standby to take over")
    assert time.monotonic() - stopped < 10 < lifetime
    cluster.client.apply(orgunit("after", name="After"))
    cluster.wait_ready("orgunits", "after")
    assert created(standby, "after") and handled(active, "after") == []
