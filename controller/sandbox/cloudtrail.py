"""What AWS does after every write to AWS Organizations: CloudTrail records it, and EventBridge delivers it.

"Organizations sends service events to EventBridge via AWS CloudTrail", as events matching
``{"source": ["aws.organizations"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventSource":
["organizations.amazonaws.com"]}}``, delivered "on a best effort basis" (EventBridge events reference, "AWS
Organizations events"); Organizations' endpoint is in us-east-1, so that is where they arrive. Read-only calls
are not delivered. The sandbox plays
that for every successful write its Organizations answers: it builds the CloudTrail record
(``requestParameters`` in lowerCamelCase, ``requestID`` the one the caller got back) and delivers it to the
SQS targets of the enabled rules of the default event bus in us-east-1 that match, as EventBridge does.

CloudTrail delivers these events only while it records the call: "To record events with a detail-type value of
AWS API Call via CloudTrail, a CloudTrail trail with logging enabled is required" (EventBridge user guide, "Events
from AWS services", read 2026-12-08). The sandbox emits an event only while a trail of the calling account that
covers us-east-1 (there, or multi-region) logs and selects management write events (``management_events_logged``):
no trail, a stopped one, or one whose selectors leave out management events or write events, and nothing arrives.

"For Lambda, Amazon SNS, Amazon SQS, and Amazon CloudWatch Logs resources, EventBridge uses resource-based
policies" (EventBridge user guide, "Using resource-based policies for Amazon EventBridge", Amazon SQS
permissions): a queue's policy must let ``events.amazonaws.com`` call ``sqs:SendMessage`` (optionally for the
rule's ARN, ``aws:SourceArn``), or the invocation fails and nothing arrives. The sandbox drops such deliveries.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

REGION = "us-east-1"
READ_PREFIXES = ("List", "Describe")


def is_write(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


def _lower_camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_camel(v) for v in value]
    return value


def organizations_event(operation: str, params: dict[str, Any], request_id: str, account_id: str,
                        access_key: str) -> dict[str, Any]:
    """The EventBridge event of one Organizations write, as CloudTrail records it."""
    now = datetime.datetime.now(datetime.UTC)
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": account_id, "accessKeyId": access_key,
                         "arn": f"arn:aws:iam::{account_id}:user/{access_key}"},
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "organizations.amazonaws.com",
        "eventName": operation,
        "awsRegion": REGION,
        "requestParameters": _lower_camel(params) or None,
        "responseElements": None,
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.organizations", "account": account_id, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION, "resources": [], "detail": detail}


def _admits_eventbridge(policy_text: str | None, queue_arn: str, rule_arn: str) -> bool:
    """Whether a queue policy lets EventBridge (for this rule) send messages to the queue."""
    try:
        policy = json.loads(policy_text or "")
    except ValueError:
        return False
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for stmt in statements if isinstance(statements, list) else [statements]:
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = services if isinstance(services, list) else [services]
        actions = stmt.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        resources = stmt.get("Resource", "*")
        resources = resources if isinstance(resources, list) else [resources]
        source = ((stmt.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")
        if ("events.amazonaws.com" in services or "*" in services) and (
                {"sqs:SendMessage", "sqs:*", "*"} & set(actions)) and (
                queue_arn in resources or "*" in resources) and source in (None, rule_arn):
            return True
    return False


def _selects_management_writes(trail: Any) -> bool:
    """Whether the trail's event selectors log management write events of AWS Organizations. None at all:
    CloudTrail's default, all management events ("By default, trails created without specific event selectors are
    configured to log all read and write management events", PutEventSelectors). Basic selectors:
    IncludeManagementEvents (default true), ReadWriteType All or WriteOnly (default All), Organizations not in
    ExcludeManagementEventSources. Advanced: eventCategory Management and not readOnly ``true`` only."""
    basic, advanced = trail.event_selectors or [], trail.advanced_event_selectors or []
    if not basic and not advanced:
        return True
    for sel in basic:
        if (sel.get("IncludeManagementEvents", True) and sel.get("ReadWriteType", "All") in ("All", "WriteOnly")
                and "organizations.amazonaws.com" not in (sel.get("ExcludeManagementEventSources") or [])):
            return True
    for sel in advanced:
        fields = {str(f.get("Field")): f for f in sel.get("FieldSelectors", []) if isinstance(f, dict)}
        category = fields.get("eventCategory", {}).get("Equals") or []
        read_only = fields.get("readOnly", {}).get("Equals") or []
        if "Management" in category and read_only in ([], ["false"], ["False"]):
            return True
    return False


def management_events_logged(account_id: str) -> bool:
    """Whether a trail of the account covering us-east-1 (a trail there or a multi-region one) is logging and
    selects management write events: what CloudTrail needs to hand Organizations' calls to EventBridge."""
    from moto.cloudtrail.models import cloudtrail_backends

    for backend in cloudtrail_backends[account_id].values():
        for trail in backend.trails.values():
            if (trail.status.is_logging and (trail.region_name == REGION or trail.is_multi_region)
                    and _selects_management_writes(trail)):
                return True
    return False


def deliver(event: dict[str, Any], account_id: str) -> int:
    """Deliver ``event`` to the SQS targets of the matching enabled rules on the default bus; how many."""
    from moto.events.models import events_backends
    from moto.sqs.models import sqs_backends

    events = events_backends[account_id][REGION]
    sqs = sqs_backends[account_id][REGION]
    delivered = 0
    for rule in list(events.describe_event_bus("default").rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):  # type: ignore[arg-type]
            continue
        for target in rule.targets:
            arn = str(target.get("Arn", ""))
            if ":sqs:" not in arn:
                continue
            name = arn.rsplit(":", 1)[-1]
            queue = sqs.queues.get(name)
            if queue is None or not _admits_eventbridge(queue.policy, arn, rule.arn):
                continue  # EventBridge's invocation fails: nothing arrives
            sqs.send_message(queue_name=name, message_body=json.dumps(event))
            delivered += 1
    return delivered
