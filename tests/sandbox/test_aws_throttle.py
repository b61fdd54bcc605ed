"""The sandbox throttles and refuses concurrent modification on its own, as AWS Organizations does, over real HTTP.

See controller/sandbox/throttle.py for the AWS sources.  Clients here make one attempt each (botocore's own
retries off), so every refusal is seen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox
from controller.sandbox.throttle import CONFLICT_MESSAGE, THROTTLED_MESSAGE

SCP = "SERVICE_CONTROL_POLICY"
HOLD = 0.6  # seconds a write stays in flight in the concurrency tests


def _scp(org: Any, name: str) -> str:
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": name + ":*",
                                                               "Resource": "*"}]})
    return str(org.create_policy(Name=name, Description="", Type=SCP, Content=doc)["Policy"]["PolicySummary"]["Id"])


def _error(call: Callable[[], Any]) -> dict[str, Any] | None:
    try:
        call()
    except ClientError as err:
        return dict(err.response)
    return None


@pytest.fixture
def org(aws: AwsSandbox) -> Any:
    return aws.client(max_attempts=1)


@pytest.fixture
def tree(aws: AwsSandbox, org: Any) -> dict[str, str]:
    """SCPs enabled, two OUs, two member accounts and three policies (made without throttling)."""
    assert aws.ids is not None
    rate, aws.traffic.rate = aws.traffic.rate, None
    root = aws.ids["root_id"]
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    ids = {"root": root}
    for name in ("a", "b"):
        ids[f"ou-{name}"] = org.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
        org.create_account(AccountName=name, Email=f"{name}@example.com")
    ids.update({f"acct-{a['Name']}": a["Id"] for a in org.list_accounts()["Accounts"] if a["Name"] in ("a", "b")})
    ids.update({f"p{n}": _scp(org, f"p{n}") for n in range(3)})
    aws.traffic.reset()
    aws.traffic.rate = rate
    return ids


# --------------------------------------------------------------------------------------------------
# Throttling


def test_past_the_burst_requests_are_throttled_as_aws_answers_then_admitted_again(aws: AwsSandbox, org: Any) -> None:
    aws.traffic.rate, aws.traffic.burst = 4.0, 5
    aws.traffic.reset()  # a full bucket of 5
    answers = [_error(org.list_roots) for _ in range(8)]
    assert answers[:5] == [None] * 5
    for refused in answers[5:]:
        assert refused is not None
        assert refused["Error"] == {"Code": "TooManyRequestsException", "Message": THROTTLED_MESSAGE}
        assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert aws.traffic.throttled == {"ListRoots": 3}
    time.sleep(0.3)  # 4 a second: one token back after 0.25 s
    assert _error(org.list_roots) is None
    assert aws.calls.count("ListRoots") == 9  # refused calls are logged like any other


def test_a_throttled_write_changes_nothing(aws: AwsSandbox, org: Any) -> None:
    assert aws.ids is not None
    aws.traffic.rate, aws.traffic.burst = 0.5, 1
    aws.traffic.reset()
    org.list_roots()  # the only token
    refused = _error(lambda: org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="x"))  # type: ignore[index]
    assert refused is not None and refused["Error"]["Code"] == "TooManyRequestsException"
    aws.traffic.rate = None
    assert org.list_organizational_units_for_parent(ParentId=aws.ids["root_id"])["OrganizationalUnits"] == []


def test_the_default_rate_admits_a_short_series_and_throttles_a_landing_zone_sized_burst(aws: AwsSandbox) -> None:
    """The defaults: a test's handful of calls in a row passes; 40 calls at once from 8 threads (what the
    operator makes when the landing zone is applied at once) meets the limit."""
    org = aws.client(max_attempts=1)
    for _ in range(10):
        org.list_roots()
    aws.traffic.reset()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _error(org.list_roots), range(40)))
    refused = [a for a in answers if a is not None]
    assert refused and all(a["Error"]["Code"] == "TooManyRequestsException" for a in refused)


# --------------------------------------------------------------------------------------------------
# Concurrent modification


def _first_in_flight(aws: AwsSandbox, first: Callable[[], Any]) -> threading.Thread:
    """Start ``first`` on a thread; return once its request holds its entities (in flight for HOLD s)."""
    aws.traffic.write_seconds = HOLD
    done = len(aws.calls)
    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 5
    while len(aws.calls) == done and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # admitted and holding (it answers only after HOLD)
    return thread


# (first write, second write, whether the second is refused): each a function of (client, ids).
CASES: dict[str, tuple[Callable[[Any, dict[str, str]], Any], Callable[[Any, dict[str, str]], Any], bool]] = {
    "attach-attach-same-target": (
        lambda o, i: o.attach_policy(PolicyId=i["p0"], TargetId=i["ou-a"]),
        lambda o, i: o.attach_policy(PolicyId=i["p1"], TargetId=i["ou-a"]), True),
    "attach-detach-same-target": (
        lambda o, i: o.attach_policy(PolicyId=i["p0"], TargetId=i["acct-a"]),
        lambda o, i: o.detach_policy(PolicyId="p-FullAWSAccess", TargetId=i["acct-a"]), True),
    "attach-different-targets": (
        lambda o, i: o.attach_policy(PolicyId=i["p0"], TargetId=i["ou-a"]),
        lambda o, i: o.attach_policy(PolicyId=i["p0"], TargetId=i["ou-b"]), False),
    "tag-tag-same-resource": (
        lambda o, i: o.tag_resource(ResourceId=i["acct-a"], Tags=[{"Key": "k", "Value": "1"}]),
        lambda o, i: o.untag_resource(ResourceId=i["acct-a"], TagKeys=["j"]), True),
    "tag-and-attach-same-account": (
        lambda o, i: o.tag_resource(ResourceId=i["acct-a"], Tags=[{"Key": "k", "Value": "1"}]),
        lambda o, i: o.attach_policy(PolicyId=i["p0"], TargetId=i["acct-a"]), False),
    "create-account-create-account": (
        lambda o, i: o.create_account(AccountName="c", Email="c@example.com"),
        lambda o, i: o.create_account(AccountName="d", Email="d@example.com"), True),
    "move-move-same-account": (
        lambda o, i: o.move_account(AccountId=i["acct-a"], SourceParentId=i["root"], DestinationParentId=i["ou-a"]),
        lambda o, i: o.move_account(AccountId=i["acct-a"], SourceParentId=i["ou-a"], DestinationParentId=i["ou-b"]),
        True),
    "move-different-accounts": (
        lambda o, i: o.move_account(AccountId=i["acct-a"], SourceParentId=i["root"], DestinationParentId=i["ou-a"]),
        lambda o, i: o.move_account(AccountId=i["acct-b"], SourceParentId=i["root"], DestinationParentId=i["ou-a"]),
        False),
    "create-ou-create-ou-same-parent": (
        lambda o, i: o.create_organizational_unit(ParentId=i["ou-a"], Name="x"),
        lambda o, i: o.create_organizational_unit(ParentId=i["ou-a"], Name="y"), True),
    "create-ou-different-parents": (
        lambda o, i: o.create_organizational_unit(ParentId=i["ou-a"], Name="x"),
        lambda o, i: o.create_organizational_unit(ParentId=i["ou-b"], Name="x"), False),
    "update-update-same-policy": (
        lambda o, i: o.update_policy(PolicyId=i["p2"], Name="p2-new"),
        lambda o, i: o.update_policy(PolicyId=i["p2"], Description="d"), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_second_write_to_an_entity_in_flight_is_refused_and_changes_nothing(
    aws: AwsSandbox, org: Any, tree: dict[str, str], case: str
) -> None:
    first, second, conflicts = CASES[case]
    before = json.dumps(_state(aws, tree), sort_keys=True, default=str)
    results: dict[str, Any] = {}
    thread = _first_in_flight(aws, lambda: results.setdefault("first", _error(lambda: first(org, tree))))
    started = time.monotonic()
    refused = _error(lambda: second(org, tree))
    answered_in = time.monotonic() - started
    middle = _state(aws, tree) if conflicts else None
    thread.join()
    assert results["first"] is None
    if not conflicts:
        assert refused is None
        assert aws.traffic.conflicts == {}
        return
    assert refused is not None
    assert refused["Error"] == {"Code": "ConcurrentModificationException", "Message": CONFLICT_MESSAGE}
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answered_in < HOLD  # refused at once, not queued behind the first
    assert sum(aws.traffic.conflicts.values()) == 1
    # Nothing of the second write happened (the first takes effect at the end of its time in flight) ...
    assert json.dumps(middle, sort_keys=True, default=str) == before
    assert json.dumps(_state(aws, tree), sort_keys=True, default=str) != before  # the first's effect
    # ... and once the first is answered, the same write goes through.
    assert _error(lambda: second(org, tree)) is None


def _state(aws: AwsSandbox, ids: dict[str, str]) -> dict[str, Any]:
    """What the writes above can change, read with a client of its own (reads are never refused)."""
    org = aws.client(max_attempts=1)
    rate, aws.traffic.rate = aws.traffic.rate, None

    def attached(target: str) -> list[str]:
        return sorted(p["Id"] for p in org.list_policies_for_target(TargetId=ids[target], Filter=SCP)["Policies"])

    try:
        return {
            "policies": {t: attached(t) for t in ("ou-a", "ou-b", "acct-a")},
            "tags": org.list_tags_for_resource(ResourceId=ids["acct-a"])["Tags"],
            "parents": {a: org.list_parents(ChildId=ids[a])["Parents"][0]["Id"] for a in ("acct-a", "acct-b")},
            "p2": org.describe_policy(PolicyId=ids["p2"])["Policy"]["PolicySummary"],
            "creations": sorted(s["AccountName"] for s in org.list_create_account_status()["CreateAccountStatuses"]),
            "ous": sorted(ou["Name"] for ou in org.list_organizational_units_for_parent(ParentId=ids["ou-a"])[
                "OrganizationalUnits"]),
        }
    finally:
        aws.traffic.rate = rate


def test_reads_are_served_while_a_write_is_in_flight(aws: AwsSandbox, org: Any, tree: dict[str, str]) -> None:
    """Requests are handled concurrently: a write's time in flight blocks no one else."""
    thread = _first_in_flight(aws, lambda: org.attach_policy(PolicyId=tree["p0"], TargetId=tree["ou-a"]))
    started = time.monotonic()
    org.list_roots()
    org.list_policies_for_target(TargetId=tree["ou-a"], Filter=SCP)
    assert time.monotonic() - started < HOLD
    thread.join()


def test_concurrent_writes_leave_moto_consistent(aws: AwsSandbox, tree: dict[str, str]) -> None:
    """Many threads writing at once, each retrying what it is refused: every OU and attachment exactly once."""
    aws.traffic.write_seconds = 0.05
    org = aws.client()  # botocore's own retries: throttling is retried, ConcurrentModification below

    def retrying(call: Callable[[], Any]) -> Any:
        for _ in range(50):
            refused = _error(call)
            if refused is None or refused["Error"]["Code"] not in ("ConcurrentModificationException",
                                                                    "TooManyRequestsException"):
                return refused
            time.sleep(0.01)
        raise AssertionError("still refused")

    def work(n: int) -> Any:
        parent = tree["ou-a"] if n % 2 else tree["ou-b"]
        refused = retrying(lambda: org.create_organizational_unit(ParentId=parent, Name=f"ou{n}"))
        assert refused is None, refused
        return retrying(lambda: org.attach_policy(PolicyId=tree[f"p{n % 3}"], TargetId=parent))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(work, range(18)))
    # A policy attached twice to one parent: the later ones are DuplicatePolicyAttachment, nothing else.
    assert {(a or {}).get("Error", {}).get("Code") for a in answers} <= {None, "DuplicatePolicyAttachmentException"}
    aws.traffic.rate = None
    names = sorted(ou["Name"] for p in ("ou-a", "ou-b")
                   for ou in org.list_organizational_units_for_parent(ParentId=tree[p])["OrganizationalUnits"])
    assert names == sorted(f"ou{n}" for n in range(18))
    for p in ("ou-a", "ou-b"):
        attached = [x["Id"] for x in org.list_policies_for_target(TargetId=tree[p], Filter=SCP)["Policies"]]
        assert sorted(attached) == sorted({"p-FullAWSAccess", tree["p0"], tree["p1"], tree["p2"]})
    assert sum(aws.traffic.conflicts.values()) > 0  # the attachments did collide
