"""Prometheus metrics, named exactly as SPEC.md names them. Any layer may import this module."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILE_TOTAL = Counter(
    "awsorg_reconcile_total", "Reconciles by kind and result (success, error, waiting).",
    ["kind", "result"], registry=REGISTRY,
)
RECONCILE_DURATION = Histogram(
    "awsorg_reconcile_duration_seconds", "Reconcile duration by kind.", ["kind"], registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
AWS_API_CALLS = Counter(
    "awsorg_aws_api_calls_total", "AWS API calls by operation and outcome (ok, throttled, error).",
    ["operation", "outcome"], registry=REGISTRY,
)
RESOURCE_READY = Gauge(
    "awsorg_resource_ready", "1 when the object is Ready.", ["kind", "name"], registry=REGISTRY,
)
RESOURCE_DRIFTED = Gauge(
    "awsorg_resource_drifted", "1 when AWS was last seen differing from the object's spec.",
    ["kind", "name"], registry=REGISTRY,
)
RESOURCE_LAST_CHECKED = Gauge(
    "awsorg_resource_last_checked_timestamp_seconds",
    "Unix time the object was last compared with AWS (every resync compares every object).", ["kind", "name"],
    registry=REGISTRY,
)
DRIFT_DETECTED = Counter(
    "awsorg_drift_detected_total", "Drift found (AWS changed outside Git), by kind.", ["kind"], registry=REGISTRY,
)
DRIFT_CORRECTED = Counter(
    "awsorg_drift_corrected_total", "Drift put back to the spec, by kind.", ["kind"], registry=REGISTRY,
)
UNMANAGED_RESOURCES = Gauge(
    "awsorg_unmanaged_resources", "AWS resources in the organization that no object declares.",
    ["kind"], registry=REGISTRY,
)
OPERATOR_ACTIVE = Gauge(
    "awsorg_operator_active", "1 when this replica works; 0 while kopf peering pauses it for a higher-priority peer.",
    registry=REGISTRY,
)
LAST_SYNC = Gauge(
    "awsorg_last_sync_timestamp_seconds", "Unix time of the last successful observation of the organization.",
    registry=REGISTRY,
)
RESYNC_INTERVAL = Gauge(
    "awsorg_resync_interval_seconds", "AWSORG_RESYNC_SECONDS: how often the organization is observed.",
    registry=REGISTRY,
)
EVENTS = Counter(
    "awsorg_events_total", "AWS Organizations events received from AWSORG_EVENTS_QUEUE_URL, by what they led to: "
    "compared (the objects concerned compared at once), resync (a full read), own (the operator's own write).",
    ["result"], registry=REGISTRY,
)
RESYNC_FAILURES = Counter(
    "awsorg_resync_failures_total", "Observations of the organization (resyncs) that failed.", registry=REGISTRY,
)
TRAIL_LOGGING = Gauge(
    "awsorg_trail_logging", "The Organization's centralLogging trail: 1 logging, 0 not logging or missing, as last "
    "seen (after the operator's own corrections). No series: no trail declared.", ["trail"], registry=REGISTRY,
)
DELIVERY_FAILING = Gauge(
    "awsorg_delivery_failing", "Evidence that is not delivered into the log bucket, as last seen: service=cloudtrail "
    "1 while the organization trail logs but its LatestDeliveryError is set; service=config, how many member account "
    "and region pairs whose AWS Config recorder failed or whose delivery channel's last delivery failed. No series: "
    "that service is not declared.", ["service"], registry=REGISTRY,
)
EVENTS_TRAIL_LOGGING = Gauge(
    "awsorg_events_trail_logging", "With AWSORG_EVENTS_QUEUE_URL: 1 while a trail of the management account logs "
    "AWS Organizations' management write events in us-east-1 (so that EventBridge receives them), 0 while none does "
    "(no event arrives: drift is found only by the resync), as the Organization last saw it. No series: no queue "
    "or no Organization object.", ["region"], registry=REGISTRY,
)

POLICY_FILE_VALID = Gauge(
    "awsorg_policy_file_valid", "The administrator's policy file (AWSORG_POLICY_FILE): 1 while what it holds is the "
    "policy in force, 0 once a change to it was refused (invalid or unreadable: the last valid policy stays in "
    "force). No series: no file.", registry=REGISTRY,
)
POLICY_VERSION = Gauge(
    "awsorg_policy_file_version", "How many valid changes of the administrator's policy file this process has "
    "applied since it started (0: the file read at start). No series: no file.", registry=REGISTRY,
)

ACCOUNT_CLOSURES_REMAINING = Gauge(
    "awsorg_account_closures_remaining", "Account closures left in AWS's rolling 30-day closure quota (the closures "
    "limit, or AWS's figure for the organization's size) less the member accounts PENDING_CLOSURE or SUSPENDED, as "
    "last observed.", registry=REGISTRY,
)

CREATE_ACCOUNT_DEFERRED = Counter(
    "awsorg_create_account_deferred_total", "CreateAccount calls put off because the organization is at its account "
    "quota (an AwsAccount waiting, reason AccountQuotaReached, until its status.creationBackoff.nextAttemptAt).",
    registry=REGISTRY,
)
CREATE_ACCOUNT_BACKOFF = Gauge(
    "awsorg_create_account_backoff_seconds", "The longest current wait before CreateAccount is tried again at a full "
    "account quota (status.creationBackoff.delaySeconds; 0: no AwsAccount waits).", registry=REGISTRY,
)
#: AwsAccount name -> its current wait at a full quota (the series of CREATE_ACCOUNT_BACKOFF, as a labelled gauge
#: would hold it)
_BACKOFFS: dict[str, float] = {}
CREATE_ACCOUNT_BACKOFF.set_function(lambda: max(_BACKOFFS.values(), default=0.0))


def creation_backoff(name: str, seconds: float | None) -> None:
    """The AwsAccount ``name``'s current wait at a full account quota (None: it does not wait)."""
    if seconds is None:
        _BACKOFFS.pop(name, None)
    else:
        _BACKOFFS[name] = seconds


def forget(kind: str, name: str) -> None:
    """Drop the per-object series of a deleted object."""
    for gauge in (RESOURCE_READY, RESOURCE_DRIFTED, RESOURCE_LAST_CHECKED):
        with contextlib.suppress(KeyError):
            gauge.remove(kind, name)
    if kind == "AwsAccount":
        creation_backoff(name, None)


def serve(port: int, addr: str = "0.0.0.0") -> None:
    start_http_server(port, addr=addr, registry=REGISTRY)
