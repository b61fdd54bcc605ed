"""Build a sizeable organization in the AWS sandbox, for the API-cost test and benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}


@dataclass
class BuiltOrg:
    root_id: str
    ou_ids: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)
    account_parents: dict[str, str] = field(default_factory=dict)
    policy_ids: list[str] = field(default_factory=list)


def build(org: Any, *, accounts: int = 200, ous: int = 8, policies: int = 10) -> BuiltOrg:
    """``ous`` OUs (half under the root, half one level down), ``accounts`` accounts spread over them,
    SCPs enabled with ``policies`` customer policies attached to the OUs, a tag on every account."""
    root = org.list_roots()["Roots"][0]
    built = BuiltOrg(root_id=root["Id"])
    top = max(1, ous // 2)
    for i in range(ous):
        parent = built.root_id if i < top else built.ou_ids[i % top]
        built.ou_ids.append(org.create_organizational_unit(ParentId=parent, Name=f"OU {i}")["OrganizationalUnit"]["Id"])
    requests = []
    for i in range(accounts):
        req = org.create_account(AccountName=f"Account {i}", Email=f"acct{i}@example.com",
                                 Tags=[{"Key": "team", "Value": f"t{i % 7}"}])["CreateAccountStatus"]
        requests.append(req["Id"])
    for i, req_id in enumerate(requests):
        status = org.describe_create_account_status(CreateAccountRequestId=req_id)["CreateAccountStatus"]
        assert status["State"] == "SUCCEEDED", status
        account_id = status["AccountId"]
        parent = built.ou_ids[i % len(built.ou_ids)] if built.ou_ids else built.root_id
        org.move_account(AccountId=account_id, SourceParentId=built.root_id, DestinationParentId=parent)
        built.account_ids.append(account_id)
        built.account_parents[account_id] = parent
    if policies:
        org.enable_policy_type(RootId=built.root_id, PolicyType="SERVICE_CONTROL_POLICY")
    for i in range(policies):
        policy = org.create_policy(Name=f"guardrail-{i}", Description="", Type="SERVICE_CONTROL_POLICY",
                                   Content=json.dumps(DENY))["Policy"]["PolicySummary"]
        org.attach_policy(PolicyId=policy["Id"], TargetId=built.ou_ids[i % len(built.ou_ids)])
        built.policy_ids.append(policy["Id"])
    return built
