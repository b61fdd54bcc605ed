"""Adopting a large organization, then quiet resyncs: what the operator costs the AWS and Kubernetes APIs.

    .venv/bin/python -m benchmarks.scale [--accounts 200 1000] [--resync 20] [--quiet 3]

For each size: an organization of N accounts (8 OUs, 10 SCPs, a tag on every account) is built in the AWS
sandbox; N AwsAccount objects adopting them (by accountId, with their tag) are created in the sandbox API
server; the operator (``awsorg run``, a child process, as in a cluster) starts. Printed:

- time from the operator's start until every object is Ready, the AWS calls and Kubernetes writes until then;
- then over ``--quiet`` resyncs with nothing changed: Kubernetes writes per object per resync (goal 0) and AWS
  calls per resync;
- the operator's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import collections
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.org_builder import build
from controller.api.crds import all_crds
from controller.api.models import GROUP
from controller.demo import operator_env, start_operator, stop_operator
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient

API = f"{GROUP}/v1alpha1"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _writes(kube: KubeSandbox) -> int:
    return sum(kube.call(lambda emu: dict(emu.writes)).values())


def _ready(kube: KubeSandbox) -> int:
    ready = 0
    for obj in kube.objects("awsaccounts", GROUP):
        conditions = (obj.get("status") or {}).get("conditions") or []
        ready += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return ready


def run(accounts: int, resync: float, quiet: int) -> dict[str, Any]:
    with AwsSandbox() as aws, KubeSandbox(all_crds()) as kube, tempfile.TemporaryDirectory() as tmp:
        aws.reset()  # moto's state is the process's: a second size starts from nothing
        aws.bootstrap()
        aws.quotas.max_accounts = accounts + 1  # AWS's default is 10: a quota raised for this organization
        org = aws.client()
        started = time.monotonic()
        built = build(org, accounts=accounts, ous=8, policies=10)
        print(f"[{accounts}] built the organization in {time.monotonic() - started:.0f}s", flush=True)
        client = KubeClient(kube.url)
        for i, account_id in enumerate(built.account_ids):
            client.create({"apiVersion": API, "kind": "AwsAccount", "metadata": {"name": f"acct-{i:04d}"},
                           "spec": {"accountName": f"Account {i}", "email": f"acct{i}@example.com",
                                    "accountId": account_id, "parentId": built.account_parents[account_id],
                                    "tags": {"team": f"t{i % 7}"}}})
        kubeconfig = kube.write_kubeconfig(Path(tmp) / "kubeconfig")
        aws.reset_calls()
        writes_before = _writes(kube)
        log = Path(tmp) / "operator.log"
        proc = start_operator(operator_env(aws, kubeconfig, AWSORG_RESYNC_SECONDS=str(resync)), log)
        started = time.monotonic()
        try:
            while _ready(kube) < accounts:
                if time.monotonic() - started > 900 or proc.poll() is not None:
                    raise SystemExit(f"not all Ready after {time.monotonic() - started:.0f}s; log: {log}")
                time.sleep(1)
            to_ready = time.monotonic() - started
            calls_to_ready, writes_to_ready = len(aws.calls), _writes(kube) - writes_before
            time.sleep(resync + 2)  # the first resync after everything is Ready, and kopf's events settle
            aws.reset_calls()
            writes_quiet = _writes(kube)
            time.sleep(resync * quiet)
            quiet_writes = _writes(kube) - writes_quiet
            calls = collections.Counter(aws.calls)
            rss = _peak_rss_mib(proc.pid)
        finally:
            stop_operator(proc, signal.SIGTERM)
    return {
        "accounts": accounts, "to_ready_s": to_ready, "aws_calls_to_ready": calls_to_ready,
        "k8s_writes_to_ready": writes_to_ready, "k8s_writes_per_object_per_quiet_resync":
        quiet_writes / accounts / quiet, "aws_calls_per_resync": sum(calls.values()) / quiet,
        "aws_calls_by_operation": dict(calls), "peak_rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--resync", type=float, default=20.0, help="AWSORG_RESYNC_SECONDS for the run")
    parser.add_argument("--quiet", type=int, default=3, help="quiet resyncs measured")
    args = parser.parse_args()
    rows = [run(n, args.resync, args.quiet) for n in args.accounts]
    print(f"\n{'accounts':>8} {'all Ready':>10} {'AWS calls':>10} {'k8s writes':>10} {'writes/obj/':>12} "
          f"{'AWS calls/':>11} {'peak RSS':>9}")
    print(f"{'':>8} {'after':>10} {'to Ready':>10} {'to Ready':>10} {'quiet resync':>12} {'resync':>11} {'':>9}")
    for r in rows:
        print(f"{r['accounts']:>8} {r['to_ready_s']:>9.0f}s {r['aws_calls_to_ready']:>10} "
              f"{r['k8s_writes_to_ready']:>10} {r['k8s_writes_per_object_per_quiet_resync']:>12.2f} "
              f"{r['aws_calls_per_resync']:>11.1f} {r['peak_rss_mib']:>6.0f} MiB")
    for r in rows:
        print(f"\n{r['accounts']} accounts, AWS calls per quiet resync by operation:")
        for op, n in sorted(r["aws_calls_by_operation"].items()):
            print(f"  {op:36} {n / args.quiet:.1f}")


if __name__ == "__main__":
    main()
