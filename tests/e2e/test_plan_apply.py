"""Plan lists exactly what the operator then does: plan, apply with the operator, plan again -> empty."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.reconciler.execute import EVENT_REASONS
from controller.sandbox.aws import AwsSandbox
from controller.workflow.plan import plan_paths
from tests.e2e.harness import Cluster, Operator

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
PLURALS = {"OrgUnit": "orgunits", "AwsAccount": "awsaccounts", "ServiceControlPolicy": "servicecontrolpolicies"}


def test_plan_apply_plan_is_empty(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    before = plan_paths([EXAMPLES], aws.client())
    assert before.changes and not before.problems

    objects = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    for obj in objects:
        cluster.client.apply(obj)
    for obj in objects:
        cluster.wait_ready(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=60)

    # What the operator did (its events) is what the plan said, action for action. The policy type is enabled
    # once, by whichever policy object gets there first.
    actions = set(EVENT_REASONS.values()) - {"PolicyTypeEnabled"}
    events = cluster.client.events()
    done = sorted((e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"])
                  for e in events if e.get("reason") in actions)
    planned = sorted((c.kind, c.name, c.reason) for c in before.changes if c.reason in actions)
    assert done == planned
    enabled = [e for e in events if e.get("reason") == "PolicyTypeEnabled"]
    assert len(enabled) == sum(1 for c in before.changes if c.reason == "PolicyTypeEnabled") == 1

    after = plan_paths([EXAMPLES], aws.client())
    assert after.empty, [*after.changes, *after.problems]
    assert after.unchanged == len(objects)
