"""Plan lists exactly what the operator then does: plan, apply with the operator, plan again -> empty."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.aws.gateway import OrganizationsGateway
from controller.aws.session import organizations_client
from controller.sandbox.aws import AwsSandbox
from controller.workflow.plan import plan_paths
from tests.e2e.harness import Cluster, Operator

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
PLURALS = {"OrgUnit": "orgunits", "AwsAccount": "awsaccounts", "ServiceControlPolicy": "servicecontrolpolicies"}


def test_plan_apply_plan_is_empty(aws: AwsSandbox, cluster: Cluster, operator: Operator,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    gateway = OrganizationsGateway(organizations_client())
    before = plan_paths([EXAMPLES], gateway)
    assert before.changes and not before.problems

    objects = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    for obj in objects:
        cluster.client.apply(obj)
    for obj in objects:
        cluster.wait_ready(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=60)

    # What the operator did (its events) is what the plan said, verb for verb.
    reasons = {"Created": "create", "CreateAccountStarted": "create", "Attached": "attach",
               "PolicyTypeEnabled": "enable"}
    done = sorted((e["involvedObject"]["kind"], e["involvedObject"]["name"], reasons[e["reason"]])
                  for e in cluster.client.events() if e.get("reason") in reasons
                  and e["reason"] != "PolicyTypeEnabled")
    planned = sorted((c.kind, c.name, c.text.split()[0]) for c in before.changes
                     if c.text.split()[0] in ("create", "attach"))
    assert done == planned
    enabled = [e for e in cluster.client.events() if e.get("reason") == "PolicyTypeEnabled"]
    assert len(enabled) == sum(1 for c in before.changes if c.text.startswith("enable")) == 1

    after = plan_paths([EXAMPLES], OrganizationsGateway(organizations_client()))
    assert after.empty, [*after.changes, *after.problems]
    assert after.unchanged == len(objects)
