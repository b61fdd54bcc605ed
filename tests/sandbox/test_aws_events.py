"""The sandbox plays CloudTrail and EventBridge for AWS Organizations: every write is delivered, as its
CloudTrail record, to the SQS queue of a matching rule, and only when the queue's policy admits EventBridge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controller.sandbox.aws import EVENT_PATTERN, AwsSandbox


def _messages(aws: AwsSandbox, url: str) -> list[dict[str, Any]]:
    """What the queue holds once EventBridge has delivered (a moment after the call answered: long-poll 1 s)."""
    sqs = aws.service_client("sqs")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_a_write_arrives_as_its_cloudtrail_record_with_the_request_id(aws: AwsSandbox) -> None:
    url = aws.events_queue()
    org = aws.client()
    answer = org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Workloads")
    org.list_roots()  # read-only calls are not delivered
    (event,) = _messages(aws, url)
    assert event["source"] == "aws.organizations" and event["detail-type"] == "AWS API Call via CloudTrail"
    detail = event["detail"]
    assert detail["eventName"] == "CreateOrganizationalUnit"
    assert detail["eventSource"] == "organizations.amazonaws.com" and detail["readOnly"] is False
    assert detail["requestParameters"] == {"parentId": aws.ids["root_id"], "name": "Workloads"}
    assert detail["requestID"] == answer["ResponseMetadata"]["RequestId"]


def test_a_refused_write_is_not_delivered(aws: AwsSandbox) -> None:
    url = aws.events_queue()
    org = aws.client()
    org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Workloads")
    _messages(aws, url)
    with pytest.raises(org.exceptions.DuplicateOrganizationalUnitException):  # a duplicate: refused
        org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Workloads")
    assert _messages(aws, url) == []


def test_no_delivery_without_a_queue_policy_that_admits_eventbridge(aws: AwsSandbox) -> None:
    sqs, events = aws.service_client("sqs"), aws.service_client("events")
    url = sqs.create_queue(QueueName="no-policy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="no-policy", EventPattern=json.dumps(EVENT_PATTERN))
    events.put_targets(Rule="no-policy", Targets=[{"Id": "q", "Arn": arn}])
    aws.management_trail()  # CloudTrail records the call: only the queue policy is missing
    aws.client().create_organizational_unit(ParentId=aws.ids["root_id"], Name="Workloads")
    assert _messages(aws, url) == []


def test_events_arrive_only_while_a_trail_logs_management_write_events(aws: AwsSandbox) -> None:
    """"To record events with a detail-type value of AWS API Call via CloudTrail, a CloudTrail trail with logging
    enabled is required" (EventBridge user guide, controller/sandbox/cloudtrail.py)."""
    url = aws.events_queue(trail=False)
    org, ct = aws.client(), aws.service_client("cloudtrail")
    root = aws.ids["root_id"]  # type: ignore[index]
    org.create_organizational_unit(ParentId=root, Name="NoTrail")
    assert _messages(aws, url) == []  # no trail at all
    aws.management_trail()
    org.create_organizational_unit(ParentId=root, Name="Logged")
    assert [e["detail"]["requestParameters"]["name"] for e in _messages(aws, url)] == ["Logged"]
    ct.put_event_selectors(TrailName="management-events", EventSelectors=[{"ReadWriteType": "ReadOnly",
                                                                            "IncludeManagementEvents": True}])
    org.create_organizational_unit(ParentId=root, Name="ReadOnlySelected")
    assert _messages(aws, url) == []  # the trail logs, but no write events
    ct.put_event_selectors(TrailName="management-events", AdvancedEventSelectors=[{"Name": "m", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}]}])
    ct.stop_logging(Name="management-events")
    org.create_organizational_unit(ParentId=root, Name="Stopped")
    assert _messages(aws, url) == []  # stopped
    ct.start_logging(Name="management-events")
    org.create_organizational_unit(ParentId=root, Name="Started")
    assert [e["detail"]["requestParameters"]["name"] for e in _messages(aws, url)] == ["Started"]
