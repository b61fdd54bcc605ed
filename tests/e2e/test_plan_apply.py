"""Plan lists exactly what the operator then does: plan, apply with the operator, plan again -> empty."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from controller.aws.writes import registrations
from controller.cli import main
from controller.reconciler.kinds import PLURALS
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.workflow.plan import plan_paths
from tests.e2e.harness import Cluster, Operator, plan_readers, wait_for

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def test_plan_apply_plan_is_empty(aws: AwsSandbox, cluster: Cluster,
                                  start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")  # accounts created after the Organization get its role on a resync
    readers = plan_readers(aws)
    aws.reset_calls()
    before = plan_paths([EXAMPLES], aws.client(), **readers)
    assert before.changes and not before.problems
    # The plan wrote nothing (CloudTrail, S3 and AWS Config included): its writes were recorded, never sent.
    assert all(call.startswith(("List", "Describe", "Get")) or call == "AssumeRole" for call in aws.calls), aws.calls
    assert "DescribeTrails" in aws.calls  # central logging was read, not skipped

    objects = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    for obj in objects:
        cluster.client.apply(obj)
    for obj in objects:
        cluster.wait_ready(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=60)
    accounts = sum(1 for o in objects if o["kind"] == "AwsAccount")
    wait_for(lambda: (cluster.get("organizations", "organization") or {}).get("status", {}).get("baseline", {})
             .get("compliant") == accounts, timeout=30, what="the access role in every member account")

    # What the operator did (its events) is what the plan said, action for action. Each policy type is enabled
    # once, by whichever policy object of it gets there first.
    actions = {w.reason for w in registrations()} - {"PolicyTypeEnabled"}
    planned = sorted((c.kind, c.name, c.reason) for c in before.changes if c.reason in actions)
    done: list[tuple[str, str, str]] = []

    def acted() -> bool:  # the events are posted after the status they go with
        events = cluster.client.events()
        done[:] = sorted((e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"])
                         for e in events if e.get("reason") in actions)
        return done == planned

    with contextlib.suppress(AssertionError):
        wait_for(acted, timeout=10, what="the operator's events")
    assert done == planned
    events = cluster.client.events()
    enabled = [e for e in events if e.get("reason") == "PolicyTypeEnabled"]
    types = {o["spec"].get("type", "SERVICE_CONTROL_POLICY") for o in objects
             if o["kind"] in ("ServiceControlPolicy", "ManagementPolicy")}
    assert len(enabled) == sum(1 for c in before.changes if c.reason == "PolicyTypeEnabled") == len(types) == 3

    after = plan_paths([EXAMPLES], aws.client(), **readers)
    assert after.empty, [*after.changes, *after.problems]
    assert after.unchanged == len(objects)


def test_plan_reads_bindings_and_removals_from_the_cluster(aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster,
                                                           operator: Operator, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    objects = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    for obj in objects:
        cluster.client.apply(obj)
    for obj in objects:
        cluster.wait_ready(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=60)

    # The change: the production OU renamed, one policy removed from the files.
    head = [o for o in objects if o["metadata"]["name"] != "deny-unapproved-regions"]
    for obj in head:
        if obj["kind"] == "OrgUnit" and obj["metadata"]["name"] == "production":
            obj["spec"]["name"] = "Prod Workloads"
    (tmp_path / "head.yaml").write_text(yaml.safe_dump_all(head))
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kubeconfig")))
    # The operator stops first: its own writes (a new account's access role, created a resync after the account is
    # Ready) would otherwise land in the call log that proves the plan wrote nothing.
    operator.stop()
    aws.reset_calls()

    assert main(["plan", str(tmp_path / "head.yaml"), "--cluster", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    changes = {(c["kind"], c["name"], c["reason"]) for c in report["changes"]}
    assert ("OrgUnit", "production", "Renamed") in changes  # bound through its status: renamed, not created
    assert ("ServiceControlPolicy", "deny-unapproved-regions", "Deleted") in changes  # removed from the files
    assert not any(r == "Created" for _, _, r in changes)
    # The only note: what reading the access role and central logging cost (no write anywhere).
    assert [n.split(":")[0] for n in report["notes"]] == ["spec.accessRole, spec.centralLogging, spec.rootAccess"], (
        report["notes"])
    assert "the access role in 4 member account(s)" in report["notes"][0]
    assert "AWS Config in 4 member account(s)" in report["notes"][0]
    assert all(call.startswith(("List", "Describe", "Get")) or call == "AssumeRole" for call in aws.calls), aws.calls

    assert main(["plan", str(tmp_path / "head.yaml"), "--output", "json"]) == 0  # blind: says so
    blind = json.loads(capsys.readouterr().out)
    assert ("OrgUnit", "production", "Created") in {(c["kind"], c["name"], c["reason"]) for c in blind["changes"]}
    assert blind["notes"] and "cannot be told from a new one" in blind["notes"][0]
