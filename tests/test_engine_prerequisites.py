"""The engine's prerequisite loop, case by case: a plan that needs a policy type enabled first has it enabled,
then is planned again from a new look (enabling attaches AWS's default policy everywhere); at most twice, and
what fails or does not show is reported, with nothing after it done. The real engine, adapter and gateway
against the sandbox's AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from controller.aws.gateway import OrganizationsGateway
from controller.aws.retry import RetryPolicy
from controller.reconciler.base import Claim, ObjectView, Outcome, RefState
from controller.reconciler.engine import Engine
from controller.reconciler.inventory import Inventory
from controller.reconciler.policy import ServiceControlPolicyAdapter
from controller.sandbox.aws import AwsSandbox
from controller.settings import Settings

DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}


class NoRefs:
    def get(self, kind: str, name: str) -> RefState:
        return RefState(exists=False)

    def claims(self, kind: str, key: str) -> list[Claim]:
        return []

    def claim_keys(self, kind: str) -> list[str]:
        return []


@dataclass(frozen=True)
class Case:
    reason: str
    enabled_before: bool = False
    inject: tuple[str, int] | None = None  # (error code of EnablePolicyType, times)
    observe_only: bool = False
    synced: str = "ReconcileSuccess"  # the Synced condition's reason
    enables: int = 1  # EnablePolicyType calls
    created: bool = True  # the policy exists in AWS, attached to the root
    events: list[str] = field(default_factory=list)  # the reasons of the events, in order
    message: str = ""  # in the Synced condition's message


CASES = [
    Case("the type is not enabled: enabled first, then the policy created and attached from a new look",
         events=["PolicyTypeEnabled", "Created", "Attached"]),
    Case("the type is already enabled: no prerequisite, straight to the policy", enabled_before=True, enables=0,
         events=["Created", "Attached"]),
    Case("AWS says it is enabled and ListRoots does not show it, twice: wait, naming it, nothing else done",
         inject=("PolicyTypeAlreadyEnabledException", 2), synced="PolicyTypeNotEnabled", enables=2, created=False,
         message="asked, and AWS does not show it done yet; waiting for AWS"),
    Case("AWS shows it only after the second attempt: the policy follows in the same reconcile",
         inject=("PolicyTypeAlreadyEnabledException", 1), enables=2, events=["PolicyTypeEnabled", "Created",
                                                                             "Attached"]),
    Case("enabling is refused: the failure is reported and the policy that needs it is not created",
         inject=("AccessDeniedException", 1), synced="AccessDenied", created=False),
    Case("Observe: a missing policy type is reported, never enabled", observe_only=True,
         synced="PolicyTypeNotEnabled", enables=0, created=False, message="nothing is enabled"),
]


def _reconcile(aws: AwsSandbox, case: Case) -> tuple[Outcome, OrganizationsGateway]:
    gateway = OrganizationsGateway(aws.client(), retry=RetryPolicy(attempts=1, base_delay=0))
    engine = Engine(ServiceControlPolicyAdapter(), gateway, NoRefs(), settings=Settings(), inventory=Inventory())
    spec: dict[str, Any] = {"document": DENY, "targets": {"root": True}}
    if case.observe_only:
        spec["managementPolicy"] = "Observe"
    return engine.reconcile(ObjectView("ServiceControlPolicy", "deny-delete", 1, spec, {})), gateway


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_the_prerequisite_loop(aws: AwsSandbox, case: Case) -> None:
    org = aws.client()
    root = aws.ids["root_id"]
    if case.enabled_before:
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    if case.inject is not None:
        aws.inject_error("EnablePolicyType", case.inject[0], times=case.inject[1])
    aws.reset_calls()

    outcome, _ = _reconcile(aws, case)

    synced = next(c for c in outcome.status["conditions"] if c["type"] == "Synced")
    assert synced["reason"] == case.synced, (case.reason, synced)
    assert aws.calls.count("EnablePolicyType") == case.enables, case.reason
    mine = [p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == "deny-delete"]
    assert bool(mine) == case.created, case.reason
    if mine:
        targets = org.list_targets_for_policy(PolicyId=mine[0]["Id"])["Targets"]
        assert [t["TargetId"] for t in targets] == [root], case.reason
    if case.events:
        assert [e.reason for e in outcome.events if e.type == "Normal"] == case.events, case.reason
    assert case.message in synced["message"], (case.reason, synced["message"])
