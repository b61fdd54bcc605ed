"""The resync cannot die and writes nothing when nothing changed.

Driven black-box: the real operator against the sandbox API server (which counts every write and can answer
writes with 5xx or 409 and end watch streams) and the strict AWS sandbox.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from controller.reconciler.kinds import PLURALS
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from tests.e2e.harness import Cluster, Operator, condition, free_port, metric, orgunit, scrape, wait_for

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
FAULT_SECONDS = float(os.environ.get("AWSORG_TEST_FAULT_SECONDS", "8"))


def _writes(kube: KubeSandbox) -> int:
    return sum(kube.call(lambda emu: dict(emu.writes)).values())


def _log_lines(op: Operator) -> list[str]:
    return op.log().splitlines()


def test_a_quiet_resync_writes_nothing_and_logs_nothing(aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster,
                                                        start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    op = start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    objects = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    for obj in objects:
        cluster.client.apply(obj)
    for obj in objects:
        cluster.wait_ready(PLURALS[obj["kind"]], obj["metadata"]["name"], timeout=60)
    accounts = sum(1 for o in objects if o["kind"] == "AwsAccount")  # the Organization's access role in each
    wait_for(lambda: (cluster.get("organizations", "organization") or {}).get("status", {}).get("baseline", {})
             .get("compliant") == accounts, timeout=30, what="the access role in every member account")
    time.sleep(2.5)  # the last events and the first resyncs after convergence

    before, lines, checked = _writes(kube), len(_log_lines(op)), time.time()
    time.sleep(3.5)  # three resyncs and more
    writes = kube.call(lambda emu: dict(emu.writes))
    assert sum(writes.values()) == before, writes  # no status PATCH, no event
    new = _log_lines(op)[lines:]
    assert not [line for line in new if "[INFO" in line or "[WARNING" in line or "[ERROR" in line], new
    samples = scrape(port)
    for obj in objects:  # yet every object was compared with AWS in that time
        assert metric(samples, "awsorg_resource_last_checked_timestamp_seconds", kind=obj["kind"],
                      name=obj["metadata"]["name"]) > checked


def test_drift_is_still_found_for_every_object_after_api_server_faults(
    aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    names = [f"ou-{i:02d}" for i in range(20)]
    op = start_operator(AWSORG_RESYNC_SECONDS="1")
    for name in names:
        cluster.client.apply(orgunit(name, name=name.upper()))
    ids = {name: cluster.wait_ready("orgunits", name, timeout=30)["status"]["id"] for name in names}
    org = aws.client(max_attempts=10)  # the console shares the operator's throttle (a resync a second): retry

    # FAULT_SECONDS of trouble (8 in the suite: four rounds; AWSORG_TEST_FAULT_SECONDS=180 for three minutes):
    # most status writes and events answered 500 or 409, watches ended every 2 s; meanwhile the OUs are renamed in
    # the console, so that the operator has status to write (and fails to) for every object.
    kube.call(lambda emu: emu.inject_faults(methods=("PATCH", "POST", "PUT"), statuses=(500, 409), ratio=0.8))
    try:
        deadline = time.monotonic() + FAULT_SECONDS
        round_ = 0
        while time.monotonic() < deadline:
            for name in names[round_ % 2::2]:
                org.update_organizational_unit(OrganizationalUnitId=ids[name], Name=f"console-{round_}-{name}")
            kube.call(lambda emu: emu.drop_watches())
            round_ += 1
            time.sleep(2)
    finally:
        kube.call(lambda emu: emu.clear_faults())

    # After the trouble: every OU is put back, and a new change behind the operator's back is found at once.
    def all_back() -> bool:
        listed = org.list_organizational_units_for_parent(ParentId=aws.ids["root_id"])["OrganizationalUnits"]
        return {ou["Id"]: ou["Name"] for ou in listed} == {ids[n]: n.upper() for n in names}

    wait_for(all_back, timeout=15, what="every OU renamed back")
    for name in names:
        org.update_organizational_unit(OrganizationalUnitId=ids[name], Name=f"later-{name}")
    wait_for(all_back, timeout=10, what="every OU's later drift found and put back")

    def synced() -> bool:
        return all(condition(cluster.get("orgunits", n), "Ready")["status"] == "True"  # type: ignore[index]
                   and not cluster.get("orgunits", n)["status"].get("drift") for n in names)  # type: ignore[index]

    wait_for(synced, timeout=10, what="every object's status written once the API server recovered")
    assert "resync of OrgUnit" in op.log()  # the failed writes were said, and retried
