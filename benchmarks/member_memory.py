"""Memory the operator keeps per member account after a baseline pass (the access role and AWS Config), measured in a
process of its own against a running AWS sandbox (``AWS_ENDPOINT_URL`` and the sandbox's credentials in the
environment, the account quota raised to hold ``--warm`` + ``--accounts`` accounts).

    python -m benchmarks.member_memory --accounts 200 [--warm 10] [--concurrency 8]

The real engine and Organization adapter reconcile the baseline (as a spec change does) over ``--warm`` member
accounts first: the service models are loaded, the shared clients and the worker threads made. Then ``--accounts``
more accounts are created and the baseline reconciled over all of them. Printed as JSON: the Python heap retained
(``tracemalloc``, after a garbage collection) grown by that second pass, per new account, and the process's peak
resident memory. The operator keeps the accounts' credentials and what each holds (a few KiB); it used to keep
a client, built from a boto3 session of its own (~11 MiB), per account, service and region.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.logging_cost import Refs
from controller.aws.central_logging import CentralLoggingGateway
from controller.aws.gateway import OrganizationsGateway
from controller.aws.member import MemberAccounts
from controller.aws.retry import RetryPolicy
from controller.aws.session import (
    cloudtrail_client,
    iam_client,
    member_service_client,
    organizations_client,
    sts_client,
)
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import Engine
from controller.reconciler.organization import OrganizationAdapter
from controller.settings import Settings

CONFIG = "config.amazonaws.com"


def spec(management: str) -> dict[str, Any]:
    return {"featureSet": "ALL", "trustedServices": ["cloudtrail.amazonaws.com", CONFIG],
            "delegatedAdministrators": [{"accountRef": {"name": "log-archive"}, "servicePrincipal": CONFIG}],
            "accessRole": {"roleName": "PlatformEngineer", "trustedPrincipals": [f"arn:aws:iam::{management}:root"]},
            "centralLogging": {"accountRef": {"name": "log-archive"}, "bucketName": "org-logs-memory",
                               "retentionDays": 30, "cloudTrail": {"enabled": False}}}


def create_accounts(org: Any, n: int, first: int) -> list[str]:
    ids = []
    for i in range(first, first + n):
        request = org.create_account(AccountName=f"Member {i}", Email=f"member{i}@example.com")
        ids.append(str(org.describe_create_account_status(CreateAccountRequestId=request["CreateAccountStatus"][
            "Id"])["CreateAccountStatus"]["AccountId"]))
    return ids


def retained() -> int:
    gc.collect()
    return int(tracemalloc.get_traced_memory()[0])


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(accounts: int, warm: int, concurrency: int) -> dict[str, Any]:
    org = organizations_client()
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    archive = create_accounts(org, warm, 0)[0]
    fast = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.5)
    kwargs: dict[str, Any] = {"retry": fast, "clients": member_service_client}
    try:
        from controller.aws.fanout import MemberWork
    except ImportError:  # a version before the seam (to measure what it kept): one account after the other
        pass
    else:
        kwargs["work"] = MemberWork(concurrency)
    members = MemberAccounts(sts_client(), iam_client, **kwargs)
    gateway = OrganizationsGateway(org, retry=fast, members=members,
                                   central_logging=CentralLoggingGateway(members, cloudtrail_client, retry=fast))
    engine = Engine(OrganizationAdapter(), gateway, Refs(archive), settings=Settings())
    status: dict[str, Any] = {}

    def reconcile() -> None:
        nonlocal status
        gateway.snapshot(max_age=0)
        outcome = engine.reconcile(ObjectView("Organization", "organization", 1, spec(management), status,
                                              trigger="change"))
        assert outcome.result == "success", outcome.status
        baseline = outcome.status.get("baseline") or {}
        assert baseline.get("compliant") == baseline.get("accounts"), baseline
        status = outcome.status

    tracemalloc.start()
    reconcile()  # the warm-up: models, shared clients, threads
    before = retained()
    create_accounts(org, accounts, warm)
    reconcile()
    after = retained()
    tracemalloc.stop()
    return {"accounts": accounts, "warm": warm, "retained_bytes": after - before,
            "retained_per_account_bytes": round((after - before) / accounts),
            "peak_rss_mib": round(_peak_rss_mib()), "compliant": (status.get("baseline") or {}).get("compliant")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    assert os.environ.get("AWS_ENDPOINT_URL"), "run against a sandbox: AWS_ENDPOINT_URL"
    print(json.dumps(measure(args.accounts, args.warm, args.concurrency)))


if __name__ == "__main__":
    main()
