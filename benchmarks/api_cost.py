"""API cost of one resync, in AWS API calls: the operator's shared snapshot vs. reading resource by resource.

    .venv/bin/python -m benchmarks.api_cost [--accounts 200 --ous 8 --policies 10]

Prints the calls by operation for: (1) one snapshot of the organization, (2) the tag reads one resync
makes for objects that declare tags, (3) a per-resource observation as Crossplane/Terraform-style
controllers do (Describe each OU/account/policy, list its parents, targets and tags).
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import time

from benchmarks.org_builder import build
from controller.aws.gateway import OrganizationsGateway
from controller.sandbox.aws import AwsSandbox


def per_resource(org: object, built: object) -> None:
    """Observe every resource on its own, as one-resource-per-object controllers do."""
    client = org
    for ou in built.ou_ids:  # type: ignore[attr-defined]
        client.describe_organizational_unit(OrganizationalUnitId=ou)  # type: ignore[attr-defined]
        client.list_parents(ChildId=ou)  # type: ignore[attr-defined]
        client.list_tags_for_resource(ResourceId=ou)  # type: ignore[attr-defined]
    for acct in built.account_ids:  # type: ignore[attr-defined]
        client.describe_account(AccountId=acct)  # type: ignore[attr-defined]
        client.list_parents(ChildId=acct)  # type: ignore[attr-defined]
        client.list_tags_for_resource(ResourceId=acct)  # type: ignore[attr-defined]
    for pol in built.policy_ids:  # type: ignore[attr-defined]
        client.describe_policy(PolicyId=pol)  # type: ignore[attr-defined]
        client.list_targets_for_policy(PolicyId=pol)  # type: ignore[attr-defined]
        client.list_tags_for_resource(ResourceId=pol)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--ous", type=int, default=8)
    parser.add_argument("--policies", type=int, default=10)
    args = parser.parse_args()
    with AwsSandbox() as aws:
        aws.bootstrap()
        aws.quotas.max_accounts = args.accounts + 1  # AWS's default is 10: a quota raised for this organization
        org = aws.client()
        started = time.monotonic()
        built = build(org, accounts=args.accounts, ous=args.ous, policies=args.policies)
        print(f"built {args.accounts} accounts, {args.ous} OUs, {args.policies} SCPs in "
              f"{time.monotonic() - started:.1f}s")
        for key, value in aws.env().items():
            os.environ[key] = value

        aws.reset_calls()
        gateway = OrganizationsGateway(org)
        gateway.snapshot(max_age=0)
        snapshot_calls = collections.Counter(aws.calls)
        tagged = args.accounts + args.ous + args.policies
        tag_calls = math.ceil(tagged / 10)

        aws.reset_calls()
        per_resource(org, built)
        naive = collections.Counter(aws.calls)

        print(f"\none resync, shared snapshot: {sum(snapshot_calls.values())} calls")
        for op, n in sorted(snapshot_calls.items()):
            print(f"  {op:36} {n}")
        print(f"  + tag reads (at most a tenth of {tagged} tagged objects per resync): {tag_calls}")
        print(f"  = {sum(snapshot_calls.values()) + tag_calls} calls per resync")
        print(f"\nper-resource observation: {sum(naive.values())} calls")
        for op, n in sorted(naive.items()):
            print(f"  {op:36} {n}")


if __name__ == "__main__":
    main()
