"""A status stays far below the API server's limits at 5,000 accounts: per-account lists are capped and counted.

The API server refuses a request body over 3 MiB and etcd an object over 1.5 MiB; a status patch refused there
records nothing at all. The limit asserted here (150 kB for the whole status, a tenth of etcd's) leaves room for the
rest of the object; most of it is status.baseline.baselinedAccounts (80 kB), the operator's memory, kept whole.
"""

from __future__ import annotations

import json

from controller.api.models import STATUS_LIST_MAX, OrganizationStatus
from controller.planner.access_role import Verdict
from controller.planner.actions import Difference, Plan
from controller.reconciler.base import ObjectView
from controller.reconciler.organization import baseline_status
from controller.reconciler.status import StatusBuilder
from controller.settings import Settings

ACCOUNTS = [f"{100000000000 + i}" for i in range(5000)]
LONG = "AWS PutConfigurationRecorder failed: AccessDenied: " + "x" * 2000  # an AWS message can be long


def _organization(status: dict[str, object] | None = None) -> ObjectView:
    synced = {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "message": "", "observedGeneration": 1,
              "lastTransitionTime": "2026-12-07T00:00:00Z"}
    return ObjectView("Organization", "organization", 1, {}, status or {"conditions": [synced]})


def test_five_thousand_failed_accounts_make_a_small_status() -> None:
    verdicts = {a: Verdict(a, "failed", "BaselineFailed", LONG) for a in ACCOUNTS}
    drift = [Difference(f"config[{a}/us-east-1]", "recording into org-logs", "delivering to elsewhere" * 100)
             for a in ACCOUNTS]
    st = StatusBuilder("Organization", _organization(), Settings(drift_policy="report"))
    st.filter_drift(Plan(differences=tuple(drift)))
    baseline = baseline_status(verdicts, frozenset(ACCOUNTS)).model_dump(by_alias=True, exclude_unset=True)
    outcome = st.synced({"baseline": baseline})

    status = outcome.status
    size = len(json.dumps(status).encode())
    assert size < 150_000, size  # uncapped: ~22 MB, past the API server's 3 MiB
    assert len(status["drift"]) == STATUS_LIST_MAX and status["driftCount"] == 5000
    assert status["drift"][0]["field"] == f"config[{ACCOUNTS[0]}/us-east-1]"
    baseline = status["baseline"]
    assert len(baseline["failed"]) == STATUS_LIST_MAX and baseline["failedCount"] == 5000
    assert baseline["accounts"] == 5000 and baseline["compliant"] == 0
    assert all(len(f["reason"]) <= 300 for f in baseline["failed"])
    # The conditions and events name the first few fields and count the rest.
    drifted = next(c for c in status["conditions"] if c["type"] == "Drifted")
    assert "and 4990 more" in drifted["message"] and len(drifted["message"]) < 5_000
    assert all(len(e.message) < 2_000 for e in outcome.events)
    OrganizationStatus.model_validate(status)  # the schema (maxItems) admits it


def test_a_short_list_is_kept_whole_and_counted() -> None:
    st = StatusBuilder("Organization", _organization(), Settings(drift_policy="report"))
    st.filter_drift(Plan(differences=(Difference("a", "1", "2"), Difference("b", "1", None))))
    status = st.synced({}).status
    assert status["drift"] == [{"field": "a", "desired": "1", "actual": "2"}, {"field": "b", "desired": "1"}]
    assert status["driftCount"] == 2
    st = StatusBuilder("Organization", _organization(status), Settings())
    st.filter_drift(Plan())
    status = st.synced({}).status
    assert status["drift"] == [] and status["driftCount"] == 0  # in sync (set, not removed: a merge patch keeps it)
