"""End-to-end fixtures: a sandbox Kubernetes API per test, the strict AWS sandbox, the operator process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.api.crds import all_crds
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.e2e.harness import Cluster, Operator, fail_if_refused, operator_kubeconfig


@pytest.fixture
def kube() -> Iterator[KubeSandbox]:
    sandbox = KubeSandbox(all_crds())
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def cluster(kube: KubeSandbox) -> Cluster:
    return Cluster(KubeClient(kube.url))


@pytest.fixture
def start_operator(
    aws: AwsSandbox, kube: KubeSandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Operator]]:
    started: list[Operator] = []
    kubeconfig = operator_kubeconfig(kube, tmp_path / "operator-kubeconfig")

    def start(*args: str, **settings: str) -> Operator:
        op = Operator(aws, kubeconfig, tmp_path / "operator.log", args, **settings).start()
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed and started:
        print("----- operator log -----\n" + started[-1].log()[-8000:])
    if started:
        fail_if_refused(kube)


@pytest.fixture
def operator(start_operator: Callable[..., Operator]) -> Operator:
    return start_operator()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
