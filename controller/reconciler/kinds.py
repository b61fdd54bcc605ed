"""The kinds the engine reconciles, each through its adapter (the operator and ``awsorg plan`` use these)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from controller.aws.gateway import OrganizationsGateway
from controller.reconciler.account import AwsAccountAdapter
from controller.reconciler.base import Board, References
from controller.reconciler.engine import Engine, KindAdapter, Reconciler
from controller.reconciler.inventory import Inventory
from controller.reconciler.organization import OrganizationAdapter
from controller.reconciler.orgunit import OrgUnitAdapter
from controller.reconciler.policy import ManagementPolicyAdapter, ServiceControlPolicyAdapter
from controller.settings import Settings

# In the order the operator converges: OUs (parents first), then accounts, then policies, then the organization's
# settings (its delegated administrators refer to accounts). Adapters hold no state: one of each serves every
# engine (the operator's, each dry run's).
_ORG_UNIT, _ACCOUNT, _POLICY, _MANAGEMENT_POLICY, _ORGANIZATION = (
    OrgUnitAdapter(), AwsAccountAdapter(), ServiceControlPolicyAdapter(), ManagementPolicyAdapter(),
    OrganizationAdapter())
ADAPTERS: Mapping[str, KindAdapter] = MappingProxyType(
    {a.kind: a for a in (_ORG_UNIT, _ACCOUNT, _POLICY, _MANAGEMENT_POLICY, _ORGANIZATION)})
PLURALS: Mapping[str, str] = MappingProxyType({
    "OrgUnit": "orgunits", "AwsAccount": "awsaccounts", "ServiceControlPolicy": "servicecontrolpolicies",
    "ManagementPolicy": "managementpolicies", "Organization": "organizations"})


def engines(gateway: OrganizationsGateway, refs: References, *, settings: Settings | None = None,
            inventory: Inventory | None = None, board: Board | None = None,
            clock: Callable[[], float] = time.time) -> dict[str, Reconciler]:
    """One engine per kind, in ``ADAPTERS``' order, sharing the inventory and the board (what one kind publishes,
    another reads)."""
    inventory, board = inventory or Inventory(), board or Board()
    return {
        _ORG_UNIT.kind: Engine(_ORG_UNIT, gateway, refs, settings, inventory, clock, board),
        _ACCOUNT.kind: Engine(_ACCOUNT, gateway, refs, settings, inventory, clock, board),
        _POLICY.kind: Engine(_POLICY, gateway, refs, settings, inventory, clock, board),
        _MANAGEMENT_POLICY.kind: Engine(_MANAGEMENT_POLICY, gateway, refs, settings, inventory, clock, board),
        _ORGANIZATION.kind: Engine(_ORGANIZATION, gateway, refs, settings, inventory, clock, board),
    }
