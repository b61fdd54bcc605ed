"""The kinds the engine reconciles, each through its adapter (the operator and ``awsorg plan`` use these)."""

from __future__ import annotations

from typing import Any

from controller.reconciler.account import AwsAccountAdapter
from controller.reconciler.engine import Adapter
from controller.reconciler.organization import OrganizationAdapter
from controller.reconciler.orgunit import OrgUnitAdapter
from controller.reconciler.policy import ServiceControlPolicyAdapter

# In the order the operator converges: OUs (parents first), then accounts, then policies, then the organization's
# settings (its delegated administrators refer to accounts).
ADAPTERS: dict[str, Adapter[Any, Any, Any]] = {
    "OrgUnit": OrgUnitAdapter(),
    "AwsAccount": AwsAccountAdapter(),
    "ServiceControlPolicy": ServiceControlPolicyAdapter(),
    "Organization": OrganizationAdapter(),
}
PLURALS = {"OrgUnit": "orgunits", "AwsAccount": "awsaccounts", "ServiceControlPolicy": "servicecontrolpolicies",
           "Organization": "organizations"}
