"""API cost of the Organization's centralLogging per resync, by service: what goes to AWS Organizations (its
throttle) and what goes to CloudTrail, STS, S3, AWS Config and IAM (quotas of their own, per account).

    .venv/bin/python -m benchmarks.logging_cost [--accounts 30 --resyncs 10]

Sets the baseline up once in a sandbox organization of N member accounts (the real engine and adapter, as a
spec change does), then runs ``--resyncs`` quiet resyncs and prints the calls of each by service.
"""

from __future__ import annotations

import argparse
import collections
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session

from controller import metrics
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
from controller.reconciler.base import Claim, ObjectView, RefState
from controller.reconciler.engine import Engine
from controller.reconciler.organization import OrganizationAdapter
from controller.sandbox.aws import AwsSandbox
from controller.settings import Settings

RESYNC = 300.0
CONFIG = "config.amazonaws.com"
_MODELS = {s: frozenset(botocore.session.get_session().get_service_model(s).operation_names)
           for s in ("organizations", "cloudtrail", "sts", "s3", "config", "iam")}


def service_of(operation: str) -> str:
    return next((s for s, ops in _MODELS.items() if operation in ops), "other")


def calls_made() -> collections.Counter[str]:
    """Every AWS call the operator's clients made so far, by operation (awsorg_aws_api_calls_total; the sandbox's
    own call log does not see S3's REST calls)."""
    found: collections.Counter[str] = collections.Counter()
    for family in metrics.REGISTRY.collect():
        if family.name == "awsorg_aws_api_calls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    found[sample.labels["operation"]] += int(sample.value)
    return found


def by_service(before: collections.Counter[str], after: collections.Counter[str]) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for operation, n in (after - before).items():
        out[service_of(operation)] += n
    return out


@dataclass
class Refs:
    archive: str

    def get(self, kind: str, name: str) -> RefState:
        return RefState(exists=True, id=self.archive, ready=True)

    def claims(self, kind: str, key: str) -> list[Claim]:
        return []

    def claim_keys(self, kind: str) -> list[str]:
        return []


def spec() -> dict[str, Any]:
    return {"trustedServices": ["cloudtrail.amazonaws.com", CONFIG],
            "delegatedAdministrators": [{"accountRef": {"name": "log-archive"}, "servicePrincipal": CONFIG}],
            "centralLogging": {"accountRef": {"name": "log-archive"}, "bucketName": "org-logs-benchmark",
                               "retentionDays": 365}}


@contextmanager
def organization(accounts: int) -> Iterator[tuple[AwsSandbox, list[str]]]:
    with AwsSandbox() as aws:
        aws.bootstrap()
        org = aws.client()
        ids = []
        for i in range(accounts):
            request = org.create_account(AccountName=f"Member {i}", Email=f"member{i}@example.com")
            ids.append(str(org.describe_create_account_status(CreateAccountRequestId=request["CreateAccountStatus"][
                "Id"])["CreateAccountStatus"]["AccountId"]))
        for key, value in aws.env().items():
            os.environ[key] = value
        yield aws, ids


def resync_costs(aws: AwsSandbox, archive: str, resyncs: int) -> tuple[collections.Counter[str],
                                                                         list[collections.Counter[str]]]:
    """(the calls of the first, setting-up reconcile by service; each quiet resync's calls by service)."""
    clock = [999 * RESYNC]  # the set-up in the last resync of a cycle: the quiet resyncs are one whole cycle
    fast = RetryPolicy(attempts=1)
    members = MemberAccounts(sts_client(), iam_client, retry=fast, clients=member_service_client,
                             clock=lambda: clock[0])
    gateway = OrganizationsGateway(organizations_client(), retry=fast, members=members,
                                   central_logging=CentralLoggingGateway(members, cloudtrail_client, retry=fast))
    engine = Engine(OrganizationAdapter(), gateway, Refs(archive), settings=Settings(resync_seconds=RESYNC),
                    clock=lambda: clock[0])
    view = ObjectView("Organization", "organization", 1, spec(), {}, trigger="change")
    before = calls_made()
    outcome = engine.reconcile(view)
    assert outcome.result == "success", outcome.status
    setup = by_service(before, calls_made())
    status = outcome.status
    per_resync: list[collections.Counter[str]] = []
    for _ in range(resyncs):
        clock[0] += RESYNC
        before = calls_made()
        gateway.snapshot(max_age=0)  # the observer's read, shared by every object
        view = ObjectView("Organization", "organization", 1, spec(), status, trigger="resync")
        outcome = engine.reconcile(view)
        assert outcome.result == "success", outcome.status
        status = outcome.status
        per_resync.append(by_service(before, calls_made()))
    return setup, per_resync


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--resyncs", type=int, default=10)
    args = parser.parse_args(argv)
    with organization(args.accounts) as (aws, ids):
        setup, per_resync = resync_costs(aws, ids[0], args.resyncs)
    out(f"{args.accounts} member accounts, one region; setting the baseline up: {dict(sorted(setup.items()))}")
    for i, calls in enumerate(per_resync):
        out(f"quiet resync {i}: {sum(calls.values())} calls {dict(sorted(calls.items()))}")


if __name__ == "__main__":
    main()
