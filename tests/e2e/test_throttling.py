"""A landing zone of 30 accounts and 10 policies applied at once, through the real operator, against AWS's
throttling and concurrent-modification refusals (the sandbox's defaults, controller/sandbox/throttle.py).

The operator must converge with nothing lost and nothing doubled: one account per email, each policy attached
exactly where declared.  The test counts the refusals the sandbox answered, so it cannot pass without meeting
them.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, account, is_true, orgunit, wait_for

pytestmark = pytest.mark.e2e

OUS = 5
ACCOUNTS = 30
POLICIES = 10


def _policy(i: int) -> dict[str, object]:
    # Policy i on OUs i and i+1 (mod 5): four custom SCPs per OU, FullAWSAccess the fifth (AWS's limit), and on
    # three accounts of its own.
    return {"apiVersion": API, "kind": "ServiceControlPolicy", "metadata": {"name": f"deny-{i}"},
            "spec": {"document": {"Version": "2012-10-17", "Statement": [
                         {"Effect": "Deny", "Action": f"service{i}:*", "Resource": "*"}]},
                     "targets": {"orgUnitRefs": [{"name": f"ou-{i % OUS}"}, {"name": f"ou-{(i + 1) % OUS}"}],
                                 "accountRefs": [{"name": f"acct-{3 * i + k}"} for k in range(3)]}}}


def test_thirty_accounts_and_ten_policies_at_once_converge_exactly(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    aws.quotas.max_accounts = ACCOUNTS + 1  # AWS's default is 10: a quota raised for this organization
    started = time.monotonic()
    objects = [orgunit(f"ou-{k}", name=f"OU {k}") for k in range(OUS)]
    objects += [account(f"acct-{n}", accountName=f"Account {n}", email=f"acct-{n}@example.com",
                        orgUnitRef={"name": f"ou-{n % OUS}"}, tags={"team": f"t{n % 3}"}) for n in range(ACCOUNTS)]
    objects += [_policy(i) for i in range(POLICIES)]
    for obj in objects:
        cluster.client.apply(obj)

    plurals = {"OrgUnit": "orgunits", "AwsAccount": "awsaccounts", "ServiceControlPolicy": "servicecontrolpolicies"}

    def all_ready() -> dict[str, dict[str, object]] | None:
        found = {f"{o['kind']}/{o['metadata']['name']}": o for kind, plural in plurals.items()
                 for o in cluster.client.list(plural)}
        return found if len(found) == len(objects) and all(is_true(o, "Ready") for o in found.values()) else None

    ready = wait_for(all_ready, timeout=55, interval=0.5, what="every object Ready")
    print(f"converged in {time.monotonic() - started:.1f}s; throttled {dict(aws.traffic.throttled)}; "
          f"conflicts {dict(aws.traffic.conflicts)}")

    # Throttling and concurrent modification did happen (retried by the operator, not surfaced).
    assert sum(aws.traffic.throttled.values()) > 0, aws.traffic.throttled
    assert sum(aws.traffic.conflicts.values()) > 0, aws.traffic.conflicts

    org = aws.client()
    aws.traffic.rate = None  # the checks below are ours, not the operator's
    accounts = [a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    emails = Counter(a["Email"] for a in accounts if a["Id"] != aws.ids["management_account_id"])  # type: ignore[index]
    assert emails == Counter({f"acct-{n}@example.com": 1 for n in range(ACCOUNTS)})  # nothing doubled, none lost
    assert org.list_create_account_status()["CreateAccountStatuses"].__len__() <= ACCOUNTS

    ids = {name: obj["status"]["id"] for name, obj in ready.items()}  # type: ignore[index]
    for i in range(POLICIES):
        policy = _policy(i)
        targets = policy["spec"]["targets"]  # type: ignore[index]
        declared = {ids[f"OrgUnit/{r['name']}"] for r in targets["orgUnitRefs"]}
        declared |= {ids[f"AwsAccount/{r['name']}"] for r in targets["accountRefs"]}
        attached = {t["TargetId"] for page in org.get_paginator("list_targets_for_policy").paginate(
            PolicyId=ids[f"ServiceControlPolicy/deny-{i}"]) for t in page["Targets"]}
        assert attached == declared, f"deny-{i}"
    policies = [p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if not p["AwsManaged"]]
    assert sorted(p["Name"] for p in policies) == sorted(f"deny-{i}" for i in range(POLICIES))
    for n in range(ACCOUNTS):
        acct = ids[f"AwsAccount/acct-{n}"]
        assert org.list_parents(ChildId=acct)["Parents"][0]["Id"] == ids[f"OrgUnit/ou-{n % OUS}"]
