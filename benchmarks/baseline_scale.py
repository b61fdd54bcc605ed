"""The Organization's baseline at scale: N existing member accounts get the access role and AWS Config (two regions),
the operator run as in a cluster; how long until every account is compliant, what it cost, how much memory.

    .venv/bin/python -m benchmarks.baseline_scale [--accounts 200 1000] [--concurrency 16]

For each size, in a fresh operator process (``awsorg run``, a child process): an organization of N accounts (8 OUs)
is built in the AWS sandbox, N ``AwsAccount`` objects adopt them, and the ``Organization`` declares the baseline of
``examples/00-organization.yaml`` (trusted access, Config's delegated administrator, an ``accessRole``, and
``centralLogging``: the trail, the log bucket in the first account, the aggregator, Config in us-east-1 and
eu-west-1 in every member account). Printed:

- seconds from the operator's start until the Organization's ``Baseline`` condition is True with all N accounts
  compliant (``status.baseline``);
- the AWS calls until then, by service (the operator's own count, ``awsorg_aws_api_calls_total``, read from its
  metrics endpoint), and of one quiet resync after;
- the operator's peak resident memory (VmHWM), and the same sampled while it ran.

``--concurrency 1`` does the member-account work one account after the other, as the operator did before
``AWSORG_MEMBER_CONCURRENCY``: the figure to put beside it.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.logging_cost import service_of
from benchmarks.org_builder import build
from controller.api.crds import all_crds
from controller.api.models import GROUP
from controller.demo import operator_env, start_operator, stop_operator
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient

API = f"{GROUP}/v1alpha1"
REGIONS = ["us-east-1", "eu-west-1"]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _calls(port: int) -> collections.Counter[str]:
    """The operator's awsorg_aws_api_calls_total by operation (every attempt, S3's REST calls included)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        if line.startswith("awsorg_aws_api_calls_total{"):
            labels, value = line.rsplit(" ", 1)
            operation = labels.split('operation="', 1)[1].split('"', 1)[0]
            found[operation] += int(float(value))
    return found


def by_service(calls: collections.Counter[str]) -> dict[str, int]:
    out: collections.Counter[str] = collections.Counter()
    for operation, n in calls.items():
        out[service_of(operation)] += n
    return dict(sorted(out.items()))


def organization(archive: str, management: str) -> dict[str, Any]:
    config = "config.amazonaws.com"
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": "organization"}, "spec": {
        "featureSet": "ALL", "policyTypes": ["SERVICE_CONTROL_POLICY"],
        "trustedServices": ["cloudtrail.amazonaws.com", config],
        "delegatedAdministrators": [{"accountRef": {"name": archive}, "servicePrincipal": config}],
        "accessRole": {"roleName": "PlatformEngineer", "trustedPrincipals": [f"arn:aws:iam::{management}:root"],
                       "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        "centralLogging": {"accountRef": {"name": archive}, "bucketName": "benchmark-org-log-archive",
                           "retentionDays": 365, "homeRegion": "us-east-1",
                           "cloudTrail": {"trailName": "organization-trail"},
                           "config": {"regions": REGIONS, "aggregatorName": "organization-aggregator"}}}}


def _baseline(kube: KubeSandbox) -> tuple[int, bool]:
    for obj in kube.objects("organizations", GROUP):
        status = obj.get("status") or {}
        baseline = status.get("baseline") or {}
        done = any(c.get("type") == "Baseline" and c.get("status") == "True" for c in status.get("conditions") or [])
        return int(baseline.get("compliant") or 0), done
    return 0, False


class Sampler(threading.Thread):
    """The operator's resident memory every half second (VmRSS), its highest kept."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))
            except OSError:
                return


def run(accounts: int, concurrency: int, resync: float, timeout: float) -> dict[str, Any]:
    with AwsSandbox() as aws, KubeSandbox(all_crds()) as kube, tempfile.TemporaryDirectory() as tmp:
        aws.reset()
        ids = aws.bootstrap()
        aws.quotas.max_accounts = accounts + 1
        started = time.monotonic()
        built = build(aws.client(), accounts=accounts, ous=8, policies=0)
        print(f"[{accounts}] built the organization in {time.monotonic() - started:.0f}s", flush=True)
        client = KubeClient(kube.url)
        for i, account_id in enumerate(built.account_ids):
            client.create({"apiVersion": API, "kind": "AwsAccount", "metadata": {"name": f"acct-{i:04d}"},
                           "spec": {"accountName": f"Account {i}", "email": f"acct{i}@example.com",
                                    "accountId": account_id, "parentId": built.account_parents[account_id],
                                    "tags": {"team": f"t{i % 7}"}}})
        client.create(organization("acct-0000", ids["management_account_id"]))
        kubeconfig = kube.write_kubeconfig(Path(tmp) / "kubeconfig")
        aws.reset_calls()
        log = Path(tmp) / "operator.log"
        port = _free_port()
        proc = start_operator(operator_env(aws, kubeconfig, AWSORG_RESYNC_SECONDS=str(resync),
                                           AWSORG_METRICS_PORT=str(port),
                                           AWSORG_MEMBER_CONCURRENCY=str(concurrency)), log)
        sampler = Sampler(proc.pid)
        sampler.start()
        started = time.monotonic()
        try:
            while True:
                compliant, done = _baseline(kube)
                if done and compliant == accounts:
                    break
                if time.monotonic() - started > timeout or proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise SystemExit(f"[{accounts}] {compliant} of {accounts} compliant after "
                                     f"{time.monotonic() - started:.0f}s; log tail:\n{tail}")
                time.sleep(0.5)
            to_compliant = time.monotonic() - started
            setup = _calls(port)
            time.sleep(resync * 1.5)  # one quiet resync (after the first one's events settle)
            before = _calls(port)
            time.sleep(resync)
            quiet = _calls(port) - before
            peak_hwm = _status_kib(proc.pid, "VmHWM") / 1024
        finally:
            sampler.stop.set()
            stop_operator(proc, signal.SIGTERM)
    member_ops = sum(n for op, n in setup.items() if service_of(op) in ("iam", "config", "sts"))
    return {"accounts": accounts, "concurrency": concurrency, "to_compliant_s": round(to_compliant, 1),
            "aws_calls_to_compliant": sum(setup.values()), "by_service": by_service(setup),
            "member_calls_per_account": round(member_ops / accounts, 1), "quiet_resync": by_service(quiet),
            "peak_rss_mib": round(peak_hwm), "sampled_peak_rss_mib": round(sampler.peak_kib / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--concurrency", type=int, default=16, help="AWSORG_MEMBER_CONCURRENCY for the run")
    parser.add_argument("--resync", type=float, default=30.0, help="AWSORG_RESYNC_SECONDS for the run")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    rows = []
    for n in args.accounts:
        row = run(n, args.concurrency, args.resync, args.timeout)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(f"\n{'accounts':>8} {'workers':>7} {'compliant':>10} {'AWS calls':>10} {'member calls':>12} "
          f"{'peak RSS':>9}  calls by service")
    for r in rows:
        print(f"{r['accounts']:>8} {r['concurrency']:>7} {r['to_compliant_s']:>9.0f}s "
              f"{r['aws_calls_to_compliant']:>10} {r['member_calls_per_account']:>8}/acct "
              f"{r['peak_rss_mib']:>5} MiB  {r['by_service']}")
    for r in rows:
        print(f"{r['accounts']} accounts, one quiet resync: {r['quiet_resync']}")


if __name__ == "__main__":
    main()
