"""``awsorg demo``: the real operator against the embedded sandbox, applying ``examples/``.

Starts the strict AWS Organizations emulator and the local Kubernetes API, applies the landing zone,
runs the operator (``awsorg run``, as a child process, exactly as in a cluster) until every object is
Ready, then prints what a user would see: the objects as ``kubectl get`` prints them, and the
organization as AWS sees it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controller.api import crds as crdgen
from controller.api.models import KINDS, KINDS_BY_KIND
from controller.aws.gateway import OrganizationsGateway
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from controller.sandbox.kubectl import format_table

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_objects(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    objects: list[dict[str, Any]] = []
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in KINDS_BY_KIND:
                objects.append(doc)
    return objects


def is_ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions", [])
    )


@contextlib.contextmanager
def sandbox(create_account_delay: float = 1.0) -> Iterator[tuple[AwsSandbox, KubeSandbox, Path]]:
    aws = AwsSandbox(create_account_delay=create_account_delay)
    aws.start()
    kube = KubeSandbox(crdgen.all_crds())
    kube.start()
    workdir = Path(tempfile.mkdtemp(prefix="awsorg-demo-"))
    failed = True
    try:
        aws.bootstrap()
        kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        yield aws, kube, kubeconfig
        failed = False
    finally:
        kube.stop()
        aws.stop()
        if not failed and not (workdir / "keep").exists():
            shutil.rmtree(workdir, ignore_errors=True)  # kept on failure: the operator log is there


def operator_env(aws: AwsSandbox, kubeconfig: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSORG_", "KUBECONFIG"))}
    env.update(aws.env())
    env.update(
        KUBECONFIG=str(kubeconfig),
        AWSORG_METRICS_PORT="0",
        AWSORG_WAIT_SECONDS="1",
        AWSORG_BACKOFF_BASE_SECONDS="1",
        AWSORG_BACKOFF_MAX_SECONDS="10",
    )
    env.update(extra)
    return env


def start_operator(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "controller", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop_operator(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop the operator process (SIGTERM: kopf's graceful stop), killing it if it does not exit in 10 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def aws_tree(aws_client: Any) -> str:
    gateway = OrganizationsGateway(aws_client)
    snap = gateway.snapshot()
    if "SERVICE_CONTROL_POLICY" in snap.enabled_policy_types:
        for ou_id in snap.ous:  # the whole truth per OU, AWS-managed FullAWSAccess included
            gateway.refresh_target_policies(ou_id, "SERVICE_CONTROL_POLICY")
        snap = gateway.snapshot()
    lines = [f"Root {snap.root_id}  (organization {snap.organization_id})"]

    def walk(parent: str, indent: str) -> None:
        ous = snap.child_ous(parent)
        accounts = snap.child_accounts(parent)
        entries: list[tuple[str, str]] = [("ou", o.id) for o in ous] + [("acct", a.id) for a in accounts]
        for i, (what, ident) in enumerate(entries):
            last = i == len(entries) - 1
            branch = "└── " if last else "├── "
            if what == "ou":
                ou = snap.ous[ident]
                pols = ", ".join(p.name for p in snap.policies_on(ident, "SERVICE_CONTROL_POLICY"))
                lines.append(f"{indent}{branch}{ou.name}  {ou.id}" + (f"  [SCPs: {pols}]" if pols else ""))
                walk(ident, indent + ("    " if last else "│   "))
            else:
                acct = snap.accounts[ident]
                lines.append(f"{indent}{branch}{acct.name}  {acct.id}  {acct.email}  {acct.state}")

    walk(snap.root_id, "")
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metric(port: int, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            inside = key[key.find("{") + 1:-1] if "{" in key else ""
            if wanted <= set(inside.split(",")):
                total += float(value)
    return total


def show_drift(aws: AwsSandbox, client: KubeClient, metrics_port: int, timeout: float = 30.0) -> None:
    """Change AWS behind the operator's back; show the drift it finds and how it puts AWS back."""
    org = aws.client()
    staging = client.get("awsaccounts", "staging") if _exists(client, "awsaccounts", "staging") else None
    target = client.get("orgunits", "production") if _exists(client, "orgunits", "production") else None
    if not staging or not target:
        return
    acct_id, home = staging["status"]["id"], staging["status"]["parentId"]
    print("\n--- Drift: someone moves the Staging account into Production in the AWS console ---")
    before = _metric(metrics_port, "awsorg_drift_detected_total", kind="AwsAccount")
    org.move_account(AccountId=acct_id, SourceParentId=home, DestinationParentId=target["status"]["id"])
    print(f"$ aws organizations move-account --account-id {acct_id} --destination-parent-id "
          f"{target['status']['id']}")
    deadline = time.monotonic() + timeout
    seen = shown = False
    while time.monotonic() < deadline:
        detected = _metric(metrics_port, "awsorg_drift_detected_total", kind="AwsAccount")
        obj = client.get("awsaccounts", "staging")
        if detected > before and not seen:
            seen = True
            print(f"awsorg_drift_detected_total{{kind=\"AwsAccount\"}} {before:.0f} -> {detected:.0f}")
        # The status is written once the correction is done (later than the metric when AWS throttles it), and
        # keeps status.drift until the next quiet pass: show it when it comes.
        drift = obj["status"].get("drift") or []
        if seen and drift and not shown:
            shown = True
            for item in drift:
                print(f"status.drift: {item['field']}: desired {item.get('desired')}, actual {item.get('actual')}")
        # AWS is asked only once the drift is shown: the console's calls share the operator's throttle.
        if shown and org.list_parents(ChildId=acct_id)["Parents"][0]["Id"] == home:
            cond: dict[str, Any] = next((c for c in obj["status"]["conditions"] if c["type"] == "Drifted"), {})
            print(f"Corrected: the account is back in {home}; Drifted={cond.get('status')} ({cond.get('reason')}: "
                  f"{cond.get('message')})")
            corrected = _metric(metrics_port, "awsorg_drift_corrected_total", kind="AwsAccount")
            print(f"awsorg_drift_corrected_total{{kind=\"AwsAccount\"}} {corrected:.0f}")
            return
        time.sleep(0.5)
    print("the drift was not corrected in time; see the operator log", file=sys.stderr)


def _exists(client: KubeClient, plural: str, name: str) -> bool:
    try:
        client.get(plural, name)
    except Exception:
        return False
    return True


def demo(examples: Path | None = None, serve: bool = False, timeout: float = 120.0, drift: bool = True) -> int:
    examples = examples or EXAMPLES
    objects = load_objects(examples)
    if not objects:
        print(f"awsorg demo: no objects found in {examples}", file=sys.stderr)
        return 1
    with sandbox() as (aws, kube, kubeconfig):
        print(f"Sandbox: AWS Organizations at {aws.url}, Kubernetes API at {kube.url}")
        client = KubeClient(kube.url)
        for obj in objects:
            client.apply(obj)
        print(f"Applied {len(objects)} objects from {examples}")
        log_path = kubeconfig.parent / "operator.log"
        metrics_port = _free_port()
        proc = start_operator(
            operator_env(aws, kubeconfig, AWSORG_RESYNC_SECONDS="3", AWSORG_METRICS_PORT=str(metrics_port)), log_path
        )
        try:
            deadline = time.monotonic() + timeout
            pending: list[str] = []
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    print(f"awsorg demo: the operator exited with {proc.returncode}; log: {log_path}",
                          file=sys.stderr)
                    print(log_path.read_text()[-4000:], file=sys.stderr)
                    (kubeconfig.parent / "keep").touch()
                    return 1
                pending = []
                for info in KINDS:
                    for obj in client.list(info.plural):
                        if not is_ready(obj):
                            pending.append(f"{info.kind}/{obj['metadata']['name']}")
                if not pending:
                    break
                time.sleep(0.5)
            print()
            for info in KINDS:
                items = client.list(info.plural)
                if items:
                    print(f"$ kubectl get {info.plural}")
                    print(format_table(info, items))
                    print()
            print("$ aws organizations (the tree as AWS sees it)")
            print(aws_tree(aws.client()))
            print()
            if pending:
                print(f"awsorg demo: not Ready after {timeout:.0f}s: {', '.join(pending)}; log: {log_path}",
                      file=sys.stderr)
                (kubeconfig.parent / "keep").touch()
                return 1
            print("Everything is Ready.")
            if drift:
                show_drift(aws, client, metrics_port)
            if serve:
                print(f"\nThe sandbox keeps running. Try:\n  export KUBECONFIG={kubeconfig}\n"
                      "  kubectl get awsorg\nPress Ctrl-C to stop.")
                sys.stdout.flush()
                with contextlib.suppress(KeyboardInterrupt):
                    while proc.poll() is None:
                        time.sleep(1)
            return 0
        finally:
            stop_operator(proc)
