"""The gateway's policy writes against the strict sandbox: idempotent, and the snapshot they keep current equals a
fresh read of AWS."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from controller.aws.errors import AwsError
from controller.aws.gateway import OrganizationsGateway
from controller.aws.retry import RetryPolicy
from controller.aws.session import organizations_client
from controller.sandbox.aws import AwsSandbox
from controller.state import OrgSnapshot

SCP = "SERVICE_CONTROL_POLICY"
DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'


@pytest.fixture
def gw(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> OrganizationsGateway:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    return OrganizationsGateway(organizations_client(), retry=RetryPolicy())  # the operator's: AWS throttles


def _policies(snap: OrgSnapshot) -> dict[str, object]:
    return {pid: dataclasses.replace(p, arn="") for pid, p in snap.policies.items() if not p.aws_managed}


def test_policy_writes_keep_the_snapshot_equal_to_aws(aws: AwsSandbox, gw: OrganizationsGateway) -> None:
    root = gw.snapshot().root_id
    ou = gw.create_ou(root, "Production", {})
    assert gw.enable_policy_type(root, SCP) is True
    assert gw.enable_policy_type(root, SCP) is False  # already enabled: fine, and said so
    snap = gw.snapshot()
    assert SCP in snap.enabled_policy_types
    # AWS attached FullAWSAccess everywhere; a whole read does not list its targets (a call per 20 accounts
    # on every resync), they are read per target when a check needs them.
    assert snap.policies["p-FullAWSAccess"].target_ids == frozenset()
    gw.refresh_target_policies(root, SCP)
    gw.refresh_target_policies(ou.id, SCP)
    assert gw.snapshot().policies["p-FullAWSAccess"].target_ids >= {root, ou.id}

    policy = gw.create_policy(name="deny", description="d", policy_type=SCP, content=DOC, tags={"a": "b"})
    gw.attach_policy(policy.id, ou.id)
    gw.attach_policy(policy.id, ou.id)  # already attached: fine
    gw.attach_policy(policy.id, root)
    gw.detach_policy(policy.id, root)
    gw.detach_policy(policy.id, root)  # not attached: fine
    gw.update_policy(policy.id, name="deny-all", content=DOC.replace('"*","Resource"', '"s3:*","Resource"'))
    kept = gw.snapshot()
    gw.invalidate()
    fresh = gw.snapshot()
    assert _policies(kept) == _policies(fresh)
    assert fresh.policies[policy.id].name == "deny-all"
    assert fresh.policies[policy.id].target_ids == {ou.id}
    assert gw.list_tags(policy.id) == {"a": "b"}

    gw.detach_policy(policy.id, ou.id)
    gw.delete_policy(policy.id)
    assert policy.id not in gw.snapshot().policies
    with pytest.raises(AwsError) as err:  # AWS's own guard: the last SCP of a target
        gw.detach_policy("p-FullAWSAccess", ou.id)
    assert err.value.code == "ConstraintViolationException"


def test_refresh_target_policies_sees_changes_made_outside(aws: AwsSandbox, gw: OrganizationsGateway) -> None:
    org = aws.client()
    root = gw.snapshot().root_id
    ou = gw.create_ou(root, "Production", {})
    gw.enable_policy_type(root, SCP)
    mine = gw.create_policy(name="mine", description="", policy_type=SCP, content=DOC, tags={})
    gw.attach_policy(mine.id, ou.id)
    gw.refresh_target_policies(ou.id, SCP)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou.id)
    other = org.create_policy(Name="other", Description="", Type=SCP, Content=json.dumps(json.loads(DOC)))
    other_id = other["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=other_id, TargetId=ou.id)
    assert "p-FullAWSAccess" in {p.id for p in gw.snapshot().policies_on(ou.id, SCP)}  # stale

    gw.refresh_target_policies(ou.id, SCP)
    assert {p.name for p in gw.snapshot().policies_on(ou.id, SCP)} == {"mine", "other"}


def test_concurrent_enables_enable_once(aws: AwsSandbox, gw: OrganizationsGateway) -> None:
    """Two policies reconciled at once both find the type disabled: one enables it (one event), the other not."""
    root = gw.snapshot().root_id
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: gw.enable_policy_type(root, SCP), range(4)))
    assert sorted(results) == [False, False, False, True]
    assert aws.answered_calls()["EnablePolicyType"] == 1
    assert SCP in gw.snapshot().enabled_policy_types
