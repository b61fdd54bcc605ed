"""The demo's `kubectl get` output: printer columns, kubectl-style filters included, evaluated by jsonpath-ng."""

from __future__ import annotations

import datetime
from typing import Any

from controller.api.models import KINDS_BY_KIND
from controller.sandbox.kubectl import format_table


def _policy(name: str, *, ready: str | None, targets: list[str], age_seconds: int) -> dict[str, Any]:
    created = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=age_seconds)
    conditions = [{"type": "Synced", "status": "True"}, {"type": "Drifted", "status": "False"}]
    if ready is not None:
        conditions.insert(1, {"type": "Ready", "status": ready})
    return {
        "metadata": {"name": name, "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "spec": {"type": "SERVICE_CONTROL_POLICY"},
        "status": {"id": f"p-{name}", "attachedTargetIds": targets, "documentSize": 42, "conditions": conditions},
    }


def test_format_table_reads_conditions_through_filters_and_joins_lists() -> None:
    info = KINDS_BY_KIND["ServiceControlPolicy"]
    items = [
        _policy("deny-root", ready="True", targets=["ou-a", "ou-b"], age_seconds=30),
        _policy("a-pending", ready=None, targets=[], age_seconds=600),
    ]
    lines = format_table(info, items).splitlines()
    assert lines[0].split() == ["NAME", "ID", "TARGETS", "READY", "SYNCED", "DRIFTED", "AGE"]
    # Sorted by name; a missing condition and an empty list print as <none>; priority-1 columns are left out.
    assert lines[1].split() == ["a-pending", "p-a-pending", "<none>", "<none>", "True", "False", "10m"]
    assert lines[2].split()[:6] == ["deny-root", "p-deny-root", "ou-a,ou-b", "True", "True", "False"]
    assert lines[2].split()[6].endswith("s")
