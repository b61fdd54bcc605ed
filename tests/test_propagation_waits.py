"""The operator meets AWS's propagation refusals as a bounded wait (controller/reconciler/propagation.py): right after
its own policy write, CreateTrail's InsufficientS3BucketPolicyException, PutDeliveryChannel's
InsufficientDeliveryPolicyException and the aggregator's InvalidRoleException read WaitingForPropagation (a wait,
not backed off) until the same action has been refused so for AWSORG_PROPAGATION_SECONDS; then they are errors."""

from __future__ import annotations

import pytest

from controller.aws.errors import AwsError
from controller.planner.actions import WAIT_REASONS, PutConfigRecorder, PutOrganizationAggregator, PutOrganizationTrail
from controller.reconciler.execute import explain
from controller.reconciler.propagation import PropagationWaits
from controller.settings import Settings

TRAIL = PutOrganizationTrail("us-east-1", "org-trail", "org-logs")
REFUSED = AwsError("CreateTrail", "InsufficientS3BucketPolicyException",
                   "Incorrect S3 bucket policy is detected for bucket: org-logs")


def test_a_propagation_refusal_is_a_wait_until_the_limit_then_the_error_it_is() -> None:
    waits = PropagationWaits(limit_seconds=60)
    first = waits.explain(TRAIL, REFUSED, now=1000.0)
    assert first is not None and first.reason == "WaitingForPropagation" and first.reason in WAIT_REASONS
    assert "InsufficientS3BucketPolicyException" in first.message and "AWSORG_PROPAGATION_SECONDS" in first.message
    later = waits.explain(TRAIL, REFUSED, now=1059.0)
    assert later is not None and "Waited 59 s of at most 60 s" in later.message
    assert waits.explain(TRAIL, REFUSED, now=1061.0) is None  # the limit: the engine explains it as any error
    error = explain(TRAIL, REFUSED)
    assert error is not None and error.reason == "AwsError" and error.retry


def test_each_action_waits_from_its_own_first_refusal_and_a_success_ends_the_wait() -> None:
    waits = PropagationWaits(limit_seconds=60)
    aggregator = PutOrganizationAggregator("111111111111", "us-east-1", "org-agg")
    role = AwsError("PutConfigurationAggregator", "InvalidRoleException", "The role ... does not exist")
    assert waits.explain(TRAIL, REFUSED, now=0.0) is not None
    assert waits.explain(aggregator, role, now=50.0) is not None
    assert waits.explain(aggregator, role, now=100.0) is not None  # 50 s into its own wait
    assert waits.explain(TRAIL, REFUSED, now=100.0) is None
    waits.done(TRAIL)
    assert waits.explain(TRAIL, REFUSED, now=101.0) is not None  # a new write, a new wait


@pytest.mark.parametrize("code", ["AccessDeniedException", "NoSuchBucketException", "ThrottlingException"])
def test_other_refusals_are_not_waited_for(code: str) -> None:
    recorder = PutConfigRecorder("111111111111", "us-east-1", "org-logs", None)
    assert PropagationWaits().explain(recorder, AwsError("PutDeliveryChannel", code, "no"), now=0.0) is None


def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().propagation_seconds == 120.0
    monkeypatch.setenv("AWSORG_PROPAGATION_SECONDS", "30")
    assert Settings.from_env().propagation_seconds == 30.0
