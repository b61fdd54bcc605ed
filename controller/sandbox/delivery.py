"""Delivery as CloudTrail and AWS Config report it: a trail or a recorder can be on and still fail to write into
its bucket, and the status reads say so. moto reports every delivery as made (it never writes a log file) and
does not implement DescribeDeliveryChannelStatus; the sandbox answers these reads from what the bucket's policy
admits, as CloudTrail and Config see it (after a policy change, the previous one for a while:
:mod:`controller.sandbox.propagation`), with the same evaluation as the refusals of
:mod:`controller.sandbox.logging_services`:

* GetTrailStatus: ``LatestDeliveryError`` "Displays any Amazon S3 error that CloudTrail encountered when
  attempting to deliver log files to the designated bucket ... This error occurs only when there is a problem with
  the destination S3 bucket ... To resolve the issue, fix the bucket policy so that CloudTrail can write to the
  bucket" (botocore's cloudtrail model, GetTrailStatusResponse); ``LatestDeliveryTime`` "the date and time that
  CloudTrail last delivered log files to an account's Amazon S3 bucket". A logging trail whose bucket policy no
  longer admits CloudTrail answers ``LatestDeliveryError: AccessDenied`` (S3's error code, "Error Responses" in the
  S3 API reference) and keeps the time of its last delivery; once the policy admits it again, the next read is a
  delivery and the error is gone.
* DescribeDeliveryChannelStatus: "Returns the current status of the specified delivery channel. If a delivery
  channel is not specified, this operation returns the current status of all delivery channels associated with
  the account" (botocore's config model); each channel's ``configHistoryDeliveryInfo`` ("status of the delivery
  of the snapshot or the configuration history to the specified Amazon S3 bucket", ConfigExportDeliveryInfo) has
  ``lastStatus`` Success, Failure or Not_Applicable, ``lastErrorCode``, ``lastErrorMessage``, ``lastAttemptTime``
  and ``lastSuccessfulTime``. While its recorder records, every read stands for a delivery attempt: Success when
  the bucket policy admits Config, otherwise Failure with ``AccessDenied``. Snapshots are delivered only when asked
  for (DeliverConfigSnapshot, or a delivery frequency): Not_Applicable here. A channel name that does not exist:
  NoSuchDeliveryChannelException.

What each read answers depends only on the state at that moment, so a test sees a failure at the first read after
it broke the bucket policy, where AWS shows it after its next delivery (CloudTrail "publishes log files about
every 5 minutes", CloudTrail user guide, "How CloudTrail works"; Config every 6 hours for the history).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from controller.sandbox.logging_services import (
    CLOUDTRAIL_TARGET_PREFIX,
    CONFIG_TARGET_PREFIX,
    ServiceError,
    config_delivery_admitted,
    trail_delivery_admitted,
)
from controller.sandbox.propagation import Propagation

TRAIL_STATUS = CLOUDTRAIL_TARGET_PREFIX + "GetTrailStatus"
CHANNEL_STATUS = CONFIG_TARGET_PREFIX + "DescribeDeliveryChannelStatus"
TARGETS = frozenset({TRAIL_STATUS, CHANNEL_STATUS})
DENIED = ("AccessDenied", "Access Denied")  # S3's error code and message for a request its bucket policy denies

#: what moto answers: (status line, headers, body)
Answer = tuple[str, list[tuple[str, str]], bytes]


def _now() -> int:
    return int(datetime.datetime.now(datetime.UTC).timestamp())


def _trail(caller: str, region: str, name: str) -> Any:
    """The trail GetTrailStatus names (its name or ARN), in the caller's account: one of the region's own, or a
    multi-region trail of another region (as moto looks it up)."""
    from moto.cloudtrail.models import cloudtrail_backends

    wanted = name.rsplit("/", 1)[-1]
    for backend in cloudtrail_backends[caller].values():
        for trail in backend.trails.values():
            if (trail.trail_name == wanted or trail.arn == name) and (
                    trail.region_name == region or trail.is_multi_region):
                return trail
    return None


def _organization_id(account: str) -> str | None:
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account)
    management, partition = owner if owner else (account, "aws")
    org = organizations_backends[management][partition].org
    return str(org.id) if org is not None else None


def trail_status(answer: dict[str, Any], caller: str, region: str, name: str, seen: Propagation,
                 delivered_before: int | None) -> dict[str, Any]:
    """GetTrailStatus as CloudTrail answers it (moto's ``answer``, its time of the last delivery before this read
    ``delivered_before``): the delivery error while the bucket policy denies CloudTrail."""
    trail = _trail(caller, region, name)
    if trail is None or not answer.get("IsLogging"):
        return answer
    organization = _organization_id(caller) if trail.is_org_trail else None
    if trail_delivery_admitted(str(trail.bucket_name), str(trail.s3_key_prefix or ""), caller, organization,
                               trail.arn, seen):
        return answer
    trail.status.latest_delivery_time = delivered_before  # no delivery now: moto's clock of it is put back
    answer = {k: v for k, v in answer.items() if k != "LatestDeliveryTime"}
    if delivered_before is not None:
        answer["LatestDeliveryTime"] = delivered_before
    return {**answer, "LatestDeliveryError": DENIED[0]}


def channel_status(params: dict[str, Any], caller: str, region: str, seen: Propagation) -> dict[str, Any]:
    """DescribeDeliveryChannelStatus, from moto's channels and recorders."""
    from moto.config.models import config_backends

    backend = config_backends[caller][region]
    names = params.get("DeliveryChannelNames") or list(backend.delivery_channels)
    for wanted in names:
        if wanted not in backend.delivery_channels:
            raise ServiceError("NoSuchDeliveryChannelException",
                               f"Cannot find delivery channel with specified name '{wanted}'.")
    recording = any(r.status.recording for r in backend.recorders.values())
    found = []
    for wanted in names:
        channel = backend.delivery_channels[wanted]
        info: dict[str, Any] = dict(getattr(channel, "awsorg_history", None) or {"lastStatus": "Not_Applicable"})
        if recording:
            now = _now()
            info["lastAttemptTime"] = now
            if config_delivery_admitted(str(channel.s3_bucket_name), str(channel.s3_key_prefix or ""), caller, seen):
                info.update(lastStatus="Success", lastSuccessfulTime=now)
                info.pop("lastErrorCode", None)
                info.pop("lastErrorMessage", None)
            else:
                info.update(lastStatus="Failure", lastErrorCode=DENIED[0], lastErrorMessage=DENIED[1])
            channel.awsorg_history = info  # type: ignore[attr-defined]  # on moto's channel: gone with it
        found.append({"name": wanted, "configSnapshotDeliveryInfo": {"lastStatus": "Not_Applicable"},
                      "configHistoryDeliveryInfo": info, "configStreamDeliveryInfo": {"lastStatus": "Not_Applicable"}})
    return {"DeliveryChannelsStatus": found}


def answer(target: str, body: bytes, caller: str, region: str, seen: Propagation,
           moto: Callable[[], Answer]) -> Answer:
    """The answer to one of ``TARGETS`` (``moto``: moto's own answer, asked for when it is needed)."""
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        params = {}
    params = params if isinstance(params, dict) else {}
    try:
        if target == CHANNEL_STATUS:  # moto: NotImplementedError
            return _json("200 OK", channel_status(params, caller, region, seen))
        trail = _trail(caller, region, str(params.get("Name", "")))
        before = trail.status.latest_delivery_time if trail is not None else None
        status, headers, data = moto()
        if not status.startswith("2"):
            return status, headers, data
        return _json(status, trail_status(json.loads(data), caller, region, str(params.get("Name", "")), seen,
                                          before))
    except ServiceError as err:
        return _json("400 Bad Request", None, err.body())


def _json(status: str, payload: dict[str, Any] | None, data: bytes | None = None) -> Answer:
    data = json.dumps(payload).encode() if data is None else data
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))], data
