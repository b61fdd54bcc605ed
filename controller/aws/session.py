"""The boto3 client: credential chain, AWS_ENDPOINT_URL, optional assumed role, call counting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials

from controller import metrics
from controller.aws.errors import THROTTLING_CODES

_CONFIG = Config(
    retries={"total_max_attempts": 1},  # our own retry layer retries, so every attempt is counted
    connect_timeout=10,
    read_timeout=30,
    user_agent_extra="awsorg-operator",
)


def _count_call(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
    operation = getattr(model, "name", "Unknown")
    status = getattr(http_response, "status_code", 500)
    outcome = "ok"
    if status >= 300 or (isinstance(parsed, dict) and "Error" in parsed):
        code = (parsed or {}).get("Error", {}).get("Code", "") if isinstance(parsed, dict) else ""
        outcome = "throttled" if code in THROTTLING_CODES else "error"
    metrics.AWS_API_CALLS.labels(operation=operation, outcome=outcome).inc()


def _count_failed_call(model: Any = None, **_: Any) -> None:
    metrics.AWS_API_CALLS.labels(operation=getattr(model, "name", "Unknown"), outcome="error").inc()


def _assumed_session(role_arn: str, base: boto3.session.Session) -> boto3.session.Session:
    sts = base.client("sts", config=_CONFIG)

    def refresh() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="awsorg-operator")["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    botocore_session = botocore.session.get_session()
    botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=refresh, method="sts-assume-role"
    )
    return boto3.session.Session(botocore_session=botocore_session, region_name=base.region_name)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _counted_client(service: Literal["organizations", "account", "sqs", "sts", "cloudtrail"], role_arn: str | None,
                    region: str | None = None) -> Any:
    region = region or _region()
    session = boto3.session.Session(region_name=region)
    if role_arn:
        session = _assumed_session(role_arn, session)
    return _counted(session.client(service, region_name=region, config=_CONFIG), service)


def _counted(client: Any, service: str) -> Any:
    client.meta.events.register(f"after-call.{service}", _count_call)
    client.meta.events.register(f"after-call-error.{service}", _count_failed_call)
    return client


def sts_client(role_arn: str | None = None) -> Any:
    """A counted ``sts`` client with the operator's credentials: AssumeRole into member accounts."""
    return _counted_client("sts", role_arn)


def iam_client(credentials: Mapping[str, str]) -> Any:
    """A counted ``iam`` client with explicit (assumed, temporary) credentials: IAM in a member account."""
    session = boto3.session.Session(aws_access_key_id=credentials["aws_access_key_id"],
                                    aws_secret_access_key=credentials["aws_secret_access_key"],
                                    aws_session_token=credentials["aws_session_token"], region_name=_region())
    return _counted(session.client("iam", region_name=_region(), config=_CONFIG), "iam")


def member_service_client(service: str, credentials: Mapping[str, str], region: str) -> Any:
    """A counted client of ``service`` (s3, config, iam) in ``region`` with explicit (assumed) credentials."""
    session = boto3.session.Session(aws_access_key_id=credentials["aws_access_key_id"],
                                    aws_secret_access_key=credentials["aws_secret_access_key"],
                                    aws_session_token=credentials["aws_session_token"], region_name=region)
    return _counted(session.client(service, region_name=region, config=_CONFIG), service)  # type: ignore[call-overload]


def cloudtrail_client(region: str, role_arn: str | None = None) -> Any:
    """A counted ``cloudtrail`` client in ``region`` (the trail's home region), with the operator's credentials."""
    return _counted_client("cloudtrail", role_arn, region)


def organizations_client(role_arn: str | None = None) -> Any:
    """A counted ``organizations`` client from the standard credential chain (``AWS_ENDPOINT_URL`` honoured)."""
    return _counted_client("organizations", role_arn)


def account_client(role_arn: str | None = None) -> Any:
    """A counted ``account`` (Account Management API) client, for PutAccountName."""
    return _counted_client("account", role_arn)


def sqs_client(role_arn: str | None = None) -> Any:
    """A counted ``sqs`` client, for the queue of AWS Organizations events (``AWSORG_EVENTS_QUEUE_URL``)."""
    return _counted_client("sqs", role_arn)
