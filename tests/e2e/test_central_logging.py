"""The Organization's centralLogging end to end: the real operator (kopf) against the strict sandbox. What AWS holds
is asserted through boto3: the management account's CloudTrail, and each member account's S3 and Config with
credentials assumed there."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, condition, free_port, metric, scrape, wait_for
from tests.e2e.test_access_role import adopted_account
from tests.e2e.test_organization import CONFIG, TRAIL, organization, shared_services

pytestmark = pytest.mark.e2e
BUCKET = "org-logs-e2e"
R = "us-east-1"


def logging_spec(**extra: Any) -> dict[str, Any]:
    return dict(trustedServices=[TRAIL, CONFIG],
                delegatedAdministrators=[{"accountRef": {"name": "shared-services"}, "servicePrincipal": CONFIG}],
                centralLogging={"accountRef": {"name": "shared-services"}, "bucketName": BUCKET, "retentionDays": 400,
                                "cloudTrail": {"trailName": "org-trail"}, "config": {"aggregatorName": "org-agg"}},
                **extra)


def trail(aws: AwsSandbox) -> dict[str, Any] | None:
    ct = aws.service_client("cloudtrail")
    found = ct.describe_trails(trailNameList=["org-trail"])["trailList"]
    if not found:
        return None
    return {**found[0], "IsLogging": ct.get_trail_status(Name="org-trail")["IsLogging"]}


def recording(aws: AwsSandbox, account_id: str) -> bool:
    config = aws.member_client("config", account_id)
    status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    channels = config.describe_delivery_channels()["DeliveryChannels"]
    return bool(status and status[0]["recording"] and channels and channels[0]["s3BucketName"] == BUCKET)


def baseline_true(cluster: Cluster) -> dict[str, Any]:
    return wait_for(lambda: o if (c := condition(o := cluster.get("organizations", "organization"), "Baseline"))
                    and c["status"] == "True" else None, timeout=45, what="Baseline True")


def test_the_baseline_from_nothing_and_the_trail_put_back(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    legacy = adopted_account(aws, "Legacy")  # no object declares it, no baseline yet: it gets its recorder
    shared = shared_services(cluster)
    cluster.client.apply(organization(**logging_spec()))
    obj = baseline_true(cluster)

    s3 = aws.member_client("s3", shared)
    assert BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rules[0]["Expiration"]["Days"] == 400
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert {s["Principal"]["Service"] for s in policy["Statement"] if s["Effect"] == "Allow"} == {TRAIL, CONFIG}
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]  # requests without TLS, from anyone
    assert deny["Principal"] == "*" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    found = trail(aws)
    assert found is not None and found["IsLogging"] and found["IsOrganizationTrail"] and found["IsMultiRegionTrail"]
    assert found["LogFileValidationEnabled"] and found["S3BucketName"] == BUCKET
    assert recording(aws, legacy) and recording(aws, shared)
    (recorder,) = aws.member_client("config", legacy).describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is True  # the first listed region records them
    aggregators = aws.member_client("config", shared).describe_configuration_aggregators()["ConfigurationAggregators"]
    assert [a["ConfigurationAggregatorName"] for a in aggregators] == ["org-agg"]

    status = obj["status"]
    assert status["trail"] == {"arn": found["TrailARN"], "isLogging": True}
    assert status["aggregatorArn"] == aggregators[0]["ConfigurationAggregatorArn"]
    assert status["baseline"] == {"accounts": 2, "compliant": 2, "pending": 0, "failed": [], "failedCount": 0,
                                  "baselinedAccounts": sorted([legacy, shared])}
    assert condition(obj, "Ready")["status"] == "True"  # type: ignore[index]

    # The trail stopped behind the operator's back: started again within a resync or so.
    aws.service_client("cloudtrail").stop_logging(Name="org-trail")
    wait_for(lambda: (trail(aws) or {}).get("IsLogging"), timeout=15, what="the trail logging again")
    wait_for(lambda: metric(scrape(port), "awsorg_drift_corrected_total", kind="Organization") >= 1, timeout=5,
             what="the correction counted")  # counted when the reconcile that started it ends
    assert metric(scrape(port), "awsorg_trail_logging", trail="org-trail") == 1

    # The bucket policy widened (CloudTrail of any account may write; not "public", so the public access block
    # lets it through, as in AWS): put back at the next resync.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": TRAIL}, "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    wait_for(lambda: json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == policy, timeout=15,
             what="the bucket policy put back")
    # A recorder stopped in a compliant account: read once every 10 resyncs, so started again within about 10 s.
    aws.member_client("config", legacy).stop_configuration_recorder(ConfigurationRecorderName="default")
    wait_for(lambda: recording(aws, legacy), timeout=25, what="the recorder started again")


def test_report_mode_reports_a_stopped_trail(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    queue = aws.events_queue(trail=False)  # the organization trail is the one that records Organizations' calls
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report", AWSORG_METRICS_PORT=str(port),
                   AWSORG_EVENTS_QUEUE_URL=queue)
    shared_services(cluster)
    cluster.client.apply(organization(**logging_spec()))
    baseline_true(cluster)
    cluster.wait_reason("organizations", "organization", "DriftEvents", "TrailLogging", timeout=10)
    assert metric(scrape(port), "awsorg_events_trail_logging", region=R) == 1
    aws.service_client("cloudtrail").stop_logging(Name="org-trail")
    obj = cluster.wait_reason("organizations", "organization", "Drifted", "DriftDetected", timeout=15)
    assert [d["field"] for d in obj["status"]["drift"]] == ["centralLogging.trail.isLogging"]
    obj = wait_for(lambda: o if (o := cluster.get("organizations", "organization"))["status"]["trail"]["isLogging"]
                   is False else None, timeout=10, what="status.trail.isLogging false")
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert condition(obj, "Baseline")["reason"] == "TrailNotLogging"  # type: ignore[index]
    assert trail(aws)["IsLogging"] is False  # type: ignore[index]  # reported, not put back
    assert metric(scrape(port), "awsorg_trail_logging", trail="org-trail") == 0
    # The stopped trail was the one recording AWS Organizations' calls: EventBridge gets no event any more, and
    # the Organization says the resync is now the only detection.
    obj = cluster.wait_reason("organizations", "organization", "DriftEvents", "NoTrailForEvents", timeout=10)
    message = condition(obj, "DriftEvents")["message"]  # type: ignore[index]
    assert condition(obj, "DriftEvents")["status"] == "False" and "org-trail: not logging" in message, message  # type: ignore[index]
    assert metric(scrape(port), "awsorg_events_trail_logging", region=R) == 0
    # A new account's recorder is new work, not a correction: set up under report too.
    later = adopted_account(aws, "Later")
    wait_for(lambda: recording(aws, later), timeout=20, what="the new account's recorder")

    aws.service_client("cloudtrail").start_logging(Name="org-trail")  # started again by hand: events flow again
    cluster.wait_reason("organizations", "organization", "DriftEvents", "TrailLogging", timeout=10)
    assert metric(scrape(port), "awsorg_events_trail_logging", region=R) == 1


def test_delete_removes_in_reverse_order_and_keeps_the_bucket(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    dev = adopted_account(aws, "Dev")
    shared = shared_services(cluster)
    cluster.client.apply(organization(**logging_spec(deletionPolicy="Delete")))
    baseline_true(cluster)
    s3 = aws.member_client("s3", shared)
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/evidence.json", Body=b"{}")
    aws.reset_calls()

    cluster.client.delete("organizations", "organization")
    cluster.wait_gone("organizations", "organization", timeout=30)
    writes = [c for c in aws.calls if c in ("DeleteConfigurationAggregator", "DeleteConfigurationRecorder",
                                            "StopLogging", "DeleteTrail", "DeregisterDelegatedAdministrator")]
    assert writes == ["DeleteConfigurationAggregator", "DeleteConfigurationRecorder", "DeleteConfigurationRecorder",
                      "StopLogging", "DeleteTrail", "DeregisterDelegatedAdministrator"]
    assert trail(aws) is None and not recording(aws, dev)
    assert aws.member_client("config", shared).describe_configuration_aggregators()["ConfigurationAggregators"] == []
    assert s3.get_object(Bucket=BUCKET, Key="AWSLogs/evidence.json")["Body"].read() == b"{}"  # logs are evidence
    assert "DeleteBucket" not in aws.calls and "DeleteObject" not in aws.calls


def test_a_bucket_name_taken_elsewhere_is_a_clear_reason_not_a_retry_loop(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    aws.service_client("s3").create_bucket(Bucket=BUCKET)  # someone else's (here: the management account's)
    shared_services(cluster)
    cluster.client.apply(organization(**logging_spec()))
    obj = cluster.wait_reason("organizations", "organization", "Synced", "BucketNameTaken", timeout=30)
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "spec.centralLogging.bucketName" in message and "choose another name" in message
    assert trail(aws) is None  # nothing built on a bucket that is not ours
    wait_for(lambda: metric(scrape(port), "awsorg_aws_api_calls_total", operation="CreateBucket", outcome="error"),
             timeout=5, what="the refused CreateBucket counted")
    attempts = metric(scrape(port), "awsorg_aws_api_calls_total", operation="CreateBucket", outcome="error")
    time.sleep(3)  # three resyncs
    assert metric(scrape(port), "awsorg_aws_api_calls_total", operation="CreateBucket", outcome="error") == attempts
    synced = condition(cluster.get("organizations", "organization"), "Synced")
    assert synced is not None and synced["reason"] == "BucketNameTaken"


def _rule_ids(s3: Any) -> set[str]:
    return {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}


def test_evidence_added_by_hand_is_kept_and_what_was_weakened_is_put_back(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    member = adopted_account(aws, "Member")  # its Config delivers into another account's bucket: the policy's
    shared = shared_services(cluster)
    cluster.client.apply(organization(**logging_spec()))
    baseline_true(cluster)
    s3, ct = aws.member_client("s3", shared), aws.service_client("cloudtrail")

    # The security team adds, by hand, a Deny (no one but BreakGlass deletes a log) and a stricter lifecycle rule
    # (logs to Glacier after 90 days; nothing expires sooner); someone else suspends versioning and narrows the
    # trail to write-only management events.
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    hand_deny = {"Sid": "SecurityTeamNoDelete", "Effect": "Deny", "Principal": "*",
                 "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": f"arn:aws:s3:::{BUCKET}/*",
                 "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({**policy, "Statement": policy["Statement"] + [hand_deny]}))
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        *rules, {"ID": "to-glacier", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                 "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]}]})
    writes = metric(scrape(port), "awsorg_aws_api_calls_total", operation="PutBucketPolicy", outcome="success")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    ct.put_event_selectors(TrailName="org-trail", EventSelectors=[{"ReadWriteType": "WriteOnly",
                                                                   "IncludeManagementEvents": True}])

    wait_for(lambda: s3.get_bucket_versioning(Bucket=BUCKET).get("Status") == "Enabled", timeout=15,
             what="versioning turned on again")
    wait_for(lambda: ct.get_event_selectors(TrailName="org-trail")["EventSelectors"][0]["ReadWriteType"] == "All",
             timeout=15, what="the trail's management events put back to read and write")
    selectors = ct.get_event_selectors(TrailName="org-trail")["EventSelectors"]
    assert [(s["ReadWriteType"], s["IncludeManagementEvents"]) for s in selectors] == [("All", True)]
    time.sleep(3)  # three more resyncs
    kept = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert hand_deny in kept and len(kept) == len(policy["Statement"]) + 1  # the Deny survives the resyncs
    assert _rule_ids(s3) == {"awsorg-retention", "to-glacier"}  # and the stricter rule
    assert metric(scrape(port), "awsorg_aws_api_calls_total", operation="PutBucketPolicy",
                  outcome="success") == writes  # nothing rewritten

    # A rule that would expire the logs sooner is drift: removed, the Glacier rule kept.
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        *rules, {"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7}}]})
    wait_for(lambda: _rule_ids(s3) == {"awsorg-retention", "to-glacier"}, timeout=15,
             what="the 7-day rule removed, the Glacier rule kept")
    obj = cluster.get("organizations", "organization")
    assert condition(obj, "Drifted")["reason"] == "Corrected"  # type: ignore[index]

    # A Deny added by hand, with a condition, that also catches CloudTrail's and Config's own deliveries (they send
    # the ACL header): kept (not the operator's to remove), and the trail and recorder keep running, but nothing
    # is delivered. CloudTrail's LatestDeliveryError and the channel's last delivery say so, and so does the
    # Organization, naming the account and region.
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    deny_acl = {"Sid": "NoAclWrites", "Effect": "Deny", "Principal": {"Service": [TRAIL, CONFIG]},
                "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({**policy, "Statement": policy["Statement"] + [deny_acl]}))
    obj = cluster.wait_reason("organizations", "organization", "Baseline", "TrailDeliveryFailing", timeout=15)
    message = condition(obj, "Baseline")["message"]  # type: ignore[index]
    assert f"management account {aws.ids['management_account_id']}, region {R}" in message, message  # type: ignore[index]
    assert obj["status"]["trail"]["latestDeliveryError"] == "AccessDenied" and obj["status"]["trail"]["isLogging"]
    assert obj["status"]["trail"]["latestDeliveryTime"]  # the last delivery that was made
    wait_for(lambda: metric(scrape(port), "awsorg_delivery_failing", service="config") == 1, timeout=40,
             what="the member account's Config delivery failing (read on its spread schedule)")
    assert metric(scrape(port), "awsorg_delivery_failing", service="cloudtrail") == 1
    failed = wait_for(lambda: o["status"]["baseline"]["failed"] if (o := cluster.get(
        "organizations", "organization"))["status"]["baseline"]["failed"] else None, timeout=5,
        what="status.baseline.failed")
    assert [f["account"] for f in failed] == [member]
    assert failed[0]["reason"].startswith(f"ConfigDeliveryFailing: AWS Config in account {member}, region {R}")
    assert deny_acl in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]  # reported, kept
    assert ct.get_trail_status(Name="org-trail")["IsLogging"]

    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))  # the security team takes it back
    baseline_true(cluster)
    wait_for(lambda: metric(scrape(port), "awsorg_delivery_failing", service="config") == 0, timeout=10,
             what="delivery healthy again")
    trail_status = cluster.get("organizations", "organization")["status"]["trail"]
    assert "latestDeliveryError" not in trail_status and "latestDeliveryTime" not in trail_status
