"""Drive the real operator (``python -m controller run``, kopf) against the sandbox Kubernetes API and
the strict AWS sandbox, both over HTTP."""

from __future__ import annotations

import copy
import functools
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from controller.api.models import CONFIRM_DELETION
from controller.aws.dryrun import RecordingMembers
from controller.demo import operator_env, stop_operator
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from controller.sandbox.rbac import RBAC_GROUP
from tests.deploy import kustomize

T = TypeVar("T")
API = "awsorg.gitops.dev/v1alpha1"


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


@functools.cache
def deployed() -> tuple[dict[str, Any], ...]:
    """The objects of the Kustomize base, as `kubectl apply -k deploy/` creates them."""
    return tuple(kustomize.render(DEPLOY))


def operator_service_account() -> tuple[str, str]:
    """(namespace, name) of the service account the Deployment runs the operator as."""
    deployment = next(o for o in deployed() if o["kind"] == "Deployment")
    return deployment["metadata"]["namespace"], deployment["spec"]["template"]["spec"]["serviceAccountName"]


def operator_user() -> str:
    namespace, name = operator_service_account()
    return f"system:serviceaccount:{namespace}:{name}"


def operator_kubeconfig(kube: KubeSandbox, path: Path) -> Path:
    """A kubeconfig that authenticates as the operator's service account, with exactly the RBAC of the
    Kustomize base (deploy/rbac.yaml as kustomization.yaml places it) installed in the sandbox: a verb the
    operator needs and the file lacks is refused with the API server's 403."""
    if kube.get("clusterroles", "awsorg-operator", group=RBAC_GROUP) is None:
        for obj in deployed():
            if obj["kind"] in RBAC_KINDS:
                kube.create(copy.deepcopy(obj), namespace=obj["metadata"].get("namespace"))
    namespace, name = operator_service_account()
    # The context's namespace is the pod's (kopf reads it as an in-cluster operator reads its service account's).
    return kube.write_kubeconfig(path, token=kube.service_account_token(namespace, name), namespace=namespace)


def fail_if_refused(kube: KubeSandbox) -> None:
    """Fail the test if the sandbox refused any request of the operator's service account (the 403s listed)."""
    user = operator_user()
    refused = list(dict.fromkeys(kube.call(lambda emu: list(emu.rbac.denied.get(user, [])))))  # each once
    if refused:
        pytest.fail("the API server refused the operator (deploy/rbac.yaml lacks a grant?):\n"
                    + "\n".join(refused[:20]) + (f"\n... and {len(refused) - 20} more" if len(refused) > 20 else ""))


def wait_for(fn: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.2, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last  # type: ignore[no-any-return]
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}: last={last!r}")


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions", []):
        if cond.get("type") == type_:
            return dict(cond)
    return None


def is_true(obj: dict[str, Any] | None, type_: str) -> bool:
    cond = condition(obj, type_)
    return bool(cond and cond["status"] == "True")


class Operator:
    """The operator as a child process, exactly as ``awsorg run`` starts it in a cluster."""

    def __init__(self, aws: AwsSandbox, kubeconfig: Path, log_path: Path, args: Sequence[str] = (),
                 **settings: str) -> None:
        fast = dict(AWSORG_WAIT_SECONDS="0.5", AWSORG_BACKOFF_BASE_SECONDS="0.5", AWSORG_BACKOFF_MAX_SECONDS="2",
                    AWSORG_RESYNC_SECONDS="300", PYTHONUNBUFFERED="1")
        self.env = operator_env(aws, kubeconfig, **{**fast, **settings})
        self.args = list(args)  # after ``run``, e.g. ["--peering", "awsorg-operator", "--priority", "100"]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Operator:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "controller", "run", *self.args], env=self.env, stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            stop_operator(self.proc, sig)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def orgunit(object_name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "OrgUnit", "metadata": {"name": object_name}, "spec": spec}


def account(object_name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "AwsAccount", "metadata": {"name": object_name}, "spec": spec}


def confirm_deletion(cluster: Cluster, name: str, account_id: str) -> None:
    """Annotate an AwsAccount so that its deletion may close or remove ``account_id`` (``CONFIRM_DELETION``)."""
    cluster.client.patch("awsaccounts", name, {"metadata": {"annotations": {CONFIRM_DELETION: account_id}}})


class Cluster:
    """Convenience over the sandbox Kubernetes API for the tests."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.get(plural, name)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise

    def wait_ready(self, plural: str, name: str, timeout: float = 20.0) -> dict[str, Any]:
        return wait_for(
            lambda: (obj if is_true(obj := self.get(plural, name), "Ready") else None),
            timeout, what=f"{plural}/{name} Ready",
        )

    def wait_reason(self, plural: str, name: str, type_: str, reason: str, timeout: float = 20.0) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            obj = self.get(plural, name)
            cond = condition(obj, type_)
            return obj if cond and cond.get("reason") == reason else None

        return wait_for(check, timeout, what=f"{plural}/{name} {type_} reason {reason}")

    def wait_gone(self, plural: str, name: str, timeout: float = 20.0) -> None:
        wait_for(lambda: self.get(plural, name) is None, timeout, what=f"{plural}/{name} deleted")


def member_reader(aws: AwsSandbox) -> Callable[[], RecordingMembers]:
    """What ``awsorg plan`` reads member accounts with (the access role; S3, AWS Config and IAM for central logging),
    against the sandbox."""
    import boto3

    def client(service: str, credentials: Any, region: str) -> Any:
        return boto3.session.Session(**credentials, region_name=region).client(service, endpoint_url=aws.url)

    return lambda: RecordingMembers(aws.service_client("sts"), lambda c: client("iam", c, "us-east-1"),
                                    clients=client)


def plan_readers(aws: AwsSandbox) -> dict[str, Any]:
    """``plan_paths``' readers of member accounts and CloudTrail, as ``awsorg plan`` has them, against the sandbox."""
    return {"members": member_reader(aws), "trails": lambda region: aws.service_client("cloudtrail"),
            "iam": lambda: aws.service_client("iam")}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """Prometheus text exposition -> {'name{labels}': value}."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def metric(samples: dict[str, float], metric_name: str, /, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for key, value in samples.items():
        if key.split("{")[0] != metric_name:
            continue
        got = ",".join(sorted(key[key.index("{") + 1:-1].split(","))) if "{" in key else ""
        if got == wanted:
            return value
    return 0.0
