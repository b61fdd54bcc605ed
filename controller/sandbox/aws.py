"""A sandbox AWS Organizations endpoint: moto served over real HTTP behind a strict layer.

``AwsSandbox`` runs moto's WSGI application (the one ``moto_server`` / ``ThreadedMotoServer``
serve) in a background thread of this process, wrapped in
:class:`controller.sandbox.strict.StrictOrganizations`, which refuses what real AWS Organizations
refuses, makes CreateAccount / CloseAccount asynchronous as in AWS, records every call and can
inject errors.  It also answers the Account Management API's PutAccountName and
GetAccountInformation (which moto does not implement) from the same state.  Any boto3 client --
in this process or in a subprocess -- reaches it through ``AWS_ENDPOINT_URL`` (see
:meth:`AwsSandbox.env`); :meth:`AwsSandbox.account_client` is the ``account`` client.

Renaming a member with ``AccountId`` needs trusted access for Account Management, as in AWS:
``client().enable_aws_service_access(ServicePrincipal="account.amazonaws.com")``.

moto keeps its state in module-level globals, so all sandboxes of one process share one state:
run one sandbox per process.  The management account is moto's default account
``123456789012`` (moto maps every unknown access key to it).

Usage::

    with AwsSandbox(create_account_delay=0.3) as sandbox:
        ids = sandbox.bootstrap()          # the organization, FeatureSet ALL, no policy type enabled
        org = sandbox.client()
        ...
        sandbox.reset()                    # wipe everything; call bootstrap() again
"""

from __future__ import annotations

import collections
import json
import threading
import time
from types import TracebackType
from typing import Any, Literal

import boto3
import botocore.session
from botocore.config import Config

from controller.sandbox import aws_limits, root_access
from controller.sandbox.account_api import ACCOUNT_API_OPERATIONS
from controller.sandbox.strict import StrictOrganizations
from controller.sandbox.throttle import DEFAULT_BURST, DEFAULT_RATE, DEFAULT_WRITE_SECONDS

REGION = "us-east-1"
# The EventBridge rule of docs/operating.md, "Drift in seconds": AWS Organizations' CloudTrail events.
EVENT_PATTERN = {"source": ["aws.organizations"], "detail-type": ["AWS API Call via CloudTrail"]}


def queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """The SQS queue policy that lets the rule (and only it) deliver: EventBridge user guide, "Amazon SQS
    permissions"."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "EventBridgeDelivers", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }]}
#: Total attempts of :meth:`AwsSandbox.client` and its siblings unless told (botocore's standard mode: 3).
CLIENT_ATTEMPTS = 10
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


def _organizations_operations() -> frozenset[str]:
    """Operations :meth:`AwsSandbox.inject_error` accepts: all of Organizations, plus the Account
    Management API operations the sandbox serves."""
    model = botocore.session.get_session().get_service_model("organizations")
    return frozenset(model.operation_names) | ACCOUNT_API_OPERATIONS


class AwsSandbox:
    """AWS Organizations over HTTP on ``host:port`` (port 0: a free port), strict like AWS.

    ``create_account_delay``: seconds a CreateAccount request stays IN_PROGRESS.
    ``close_account_delay``: seconds a closed account stays PENDING_CLOSURE before SUSPENDED.
    ``member_role_delay``: seconds after a CreateAccount request SUCCEEDED during which AssumeRole into the new
    account is refused (AWS: "You might need to wait a few minutes before you can successfully access the account").
    ``propagation_delay``: seconds an IAM or S3 policy change takes to be seen by STS, CloudTrail and Config.
    With 0 (the default) the outcome is visible from the next request on.

    As AWS, the sandbox throttles (``throttle_rate`` requests a second per calling account, bursts of
    ``throttle_burst``; None: never) and refuses a write while another write to the same entity is in flight
    (each write in flight for at least ``write_seconds``; None: never): see :mod:`controller.sandbox.throttle`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        create_account_delay: float = 0.0,
        close_account_delay: float = 0.0,
        member_role_delay: float = 0.0,
        throttle_rate: float | None = DEFAULT_RATE,
        throttle_burst: int = DEFAULT_BURST,
        write_seconds: float | None = DEFAULT_WRITE_SECONDS,
    ) -> None:
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._session: boto3.session.Session | None = None
        self._operations: frozenset[str] | None = None
        #: what the last :meth:`bootstrap` returned (``None`` before it / after :meth:`reset`)
        self.ids: dict[str, str] | None = None
        self.strict = StrictOrganizations(
            None, create_account_delay=create_account_delay, close_account_delay=close_account_delay,
            member_role_delay=member_role_delay,
        )
        self.traffic = self.strict.traffic
        self.traffic.rate, self.traffic.burst, self.traffic.write_seconds = throttle_rate, throttle_burst, write_seconds

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve over HTTP in a daemon thread; returns once the socket is listening."""
        if self._server is not None:
            return
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request is noise
                pass

        from moto.s3.models import FakeBucket

        from controller.sandbox.logging_services import bucket_permission

        FakeBucket.get_permission = bucket_permission  # type: ignore[method-assign,assignment]  # conditions
        self.strict.app = DomainDispatcherApplication(create_backend_app)
        # make_server binds and listens before returning, so the URL is usable immediately.
        self._server = make_server(self._host, self._port, self.strict, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-sandbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> AwsSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- endpoints -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("AwsSandbox is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def client(self, *, max_attempts: int | None = None) -> Any:
        """A boto3 Organizations client for this sandbox (region us-east-1, dummy credentials).

        ``max_attempts``: botocore's total attempts (``1`` disables botocore's own retries, which
        otherwise retry throttling errors such as an injected TooManyRequestsException).  By default
        :data:`CLIENT_ATTEMPTS`: the client stands for a person or other automation, whose calls share the
        management account's throttle with the operator's and are retried until they go through."""
        return self._client("organizations", max_attempts)

    def account_client(self, *, max_attempts: int | None = None) -> Any:
        """A boto3 Account Management (``account``) client for this sandbox, with the same region
        and credentials as :meth:`client` (the management account).  It serves PutAccountName and
        GetAccountInformation; ``max_attempts`` as for :meth:`client`."""
        return self._client("account", max_attempts)

    def service_client(self, service: str) -> Any:
        """A boto3 client of any other service moto serves here (``sqs``, ``events``), same credentials."""
        return self._client(service, None)  # type: ignore[arg-type]

    def member_client(self, service: str, account_id: str, role_name: str = "OrganizationAccountAccessRole") -> Any:
        """A boto3 client of ``service`` in a member account, reached the way a person would: AssumeRole on the role
        the organization has there, from the management account (not through the operator's gateway)."""
        creds = self.service_client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}",
                                                      RoleSessionName="test")["Credentials"]
        session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                        aws_secret_access_key=creds["SecretAccessKey"],
                                        aws_session_token=creds["SessionToken"], region_name=REGION)
        return session.client(service, endpoint_url=self.url)  # type: ignore[call-overload]

    def events_queue(self, name: str = "awsorg-organizations-events", *, trail: bool = True) -> str:
        """The EventBridge rule and SQS queue of ``AWSORG_EVENTS_QUEUE_URL``, set up as docs/operating.md says
        ("Drift in seconds"): the rule on the default bus in us-east-1, the queue's policy admitting the rule;
        with ``trail``, a trail of the management account that logs its management events
        (``management_trail``), without which CloudTrail hands EventBridge nothing. Returns the queue's URL."""
        if trail:
            self.management_trail()
        sqs, events = self.service_client("sqs"), self.service_client("events")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(EVENT_PATTERN))["RuleArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(queue_arn, rule_arn))})
        events.put_targets(Rule=name, Targets=[{"Id": "awsorg-operator", "Arn": queue_arn}])
        return str(url)

    def management_trail(self, name: str = "management-events") -> str:
        """A multi-region trail of the management account logging all management events into a bucket of its own
        (the bucket policy of the CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail"), started.
        Returns the trail's ARN."""
        account = self.ids["management_account_id"] if self.ids else "123456789012"
        bucket = f"awsorg-{name}-{account}"
        s3, ct = self.service_client("s3"), self.service_client("cloudtrail")
        s3.create_bucket(Bucket=bucket)
        arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}"
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
             "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"StringEquals": {"aws:SourceArn": arn}}},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*", "Condition": {"StringEquals": {
                 "aws:SourceArn": arn, "s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
        ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True)
        ct.start_logging(Name=name)
        return arn

    def _client(self, service: Literal["organizations", "account"], max_attempts: int | None) -> Any:
        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
                region_name=REGION,
            )
        config = Config(retries={"total_max_attempts": max_attempts or CLIENT_ATTEMPTS, "mode": "standard"})
        return self._session.client(service, endpoint_url=self.url, config=config)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess whose boto3 must reach this sandbox.

        Merge it over ``os.environ`` and drop ``AWS_PROFILE`` (a profile missing from the config
        file makes boto3 fail before the environment credentials are considered)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": self._host,
            "no_proxy": self._host,
        }

    # -- delays ---------------------------------------------------------------------------------------

    @property
    def create_account_delay(self) -> float:
        """Seconds a CreateAccount request stays IN_PROGRESS (settable; applies to new requests)."""
        return self.strict.create_account_delay

    @create_account_delay.setter
    def create_account_delay(self, seconds: float) -> None:
        self.strict.create_account_delay = seconds

    @property
    def close_account_delay(self) -> float:
        """Seconds a closed account stays PENDING_CLOSURE (settable; applies to new requests)."""
        return self.strict.close_account_delay

    @close_account_delay.setter
    def close_account_delay(self, seconds: float) -> None:
        self.strict.close_account_delay = seconds

    # -- AWS's quotas and account readiness (controller.sandbox.aws_limits) ---------------------------

    @property
    def quotas(self) -> aws_limits.Quotas:
        """The settings of the limits the sandbox applies as AWS does: ``max_accounts`` (AWS's default 10),
        ``close_quota`` (None: AWS's figure), ``enable_policy_type_delay`` (seconds a type stays PENDING_ENABLE)."""
        return aws_limits.quotas(self.strict)

    def make_standalone_ready(self, account_id: str, *, missing: tuple[str, ...] = ()) -> None:
        """What a person does before removing a created account from the organization: phone verification, a
        payment instrument, the waiting period.  ``missing``: the reasons still left (``aws_limits.
        STANDALONE_REASONS``); by default none, so RemoveAccountFromOrganization succeeds."""
        with self.strict.lock:
            self.quotas.standalone[account_id] = tuple(missing)

    def give_root_credentials(self, account_id: str, *credentials: str) -> None:
        """The account's root user holds these credentials (``password``, ``accessKeys``, ``signingCertificates``,
        ``mfa``; none: it holds nothing), as IAM's GetAccountSummary in the account then reports
        (:mod:`controller.sandbox.root_access`)."""
        root_access.give_root_credentials(account_id, *credentials)

    def root_access_features(self) -> set[str]:
        """IAM's centralized root access features enabled for the organization (as ListOrganizationsFeatures)."""
        assert self.ids is not None, "bootstrap first"
        return root_access.enabled_features(self.ids["organization_id"])

    def finalize_organization(self, seconds: float) -> None:
        """The organization "hasn't finished initializing" for ``seconds``: CreateAccount answers
        FinalizingOrganizationException meanwhile."""
        with self.strict.lock:
            self.quotas.finalizing_until = time.time() + seconds

    @property
    def member_role_delay(self) -> float:
        """Seconds a new account's roles stay unassumable after its CreateAccount SUCCEEDED (settable)."""
        return self.strict.member_role_delay

    @member_role_delay.setter
    def member_role_delay(self, seconds: float) -> None:
        self.strict.member_role_delay = seconds

    @property
    def propagation_delay(self) -> float:
        """Seconds after an IAM or S3 policy write during which STS, CloudTrail and Config still see what was there
        before it (settable; 0: seen at once): :mod:`controller.sandbox.propagation`."""
        return self.strict.propagation.delay

    @propagation_delay.setter
    def propagation_delay(self, seconds: float) -> None:
        self.strict.propagation.delay = seconds

    # -- state ---------------------------------------------------------------------------------------

    def bootstrap(self) -> dict[str, str]:
        """Create the organization (FeatureSet ALL) as the management account.

        Policy types are left as AWS leaves them for a new organization: none enabled in the root,
        so nothing is attached; call EnablePolicyType like a real landing zone bootstrap would.
        Returns ``{"root_id", "management_account_id", "organization_id"}``.  Not logged in
        :attr:`calls`."""
        org = self.client()
        described = org.create_organization(FeatureSet="ALL")["Organization"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        self.strict.flush_events()  # the organization's own creation is delivered before anyone listens
        self.reset_calls()
        self.ids = {
            "root_id": root_id,
            "management_account_id": described["MasterAccountId"],
            "organization_id": described["Id"],
        }
        return dict(self.ids)

    def reset(self) -> None:
        """Wipe all state: every moto backend (as moto's ``/moto-api/reset`` does), the pending
        create-account requests and closures, injected errors and the call log.  The organization
        is gone afterwards: call :meth:`bootstrap` again."""
        from moto.moto_api._internal.models import moto_api_backend
        from moto.organizations.models import organizations_backends

        with self.strict.lock:
            moto_api_backend.reset()
            organizations_backends.master_accounts.clear()
            self.strict.reset_state()
            self.quotas.reset()
            self.ids = None

    # -- call log and fault injection ------------------------------------------------------------------

    @property
    def calls(self) -> list[str]:
        """Operation names received over HTTP, in order (a copy; retries count once per attempt)."""
        return self.strict.calls

    def answered_calls(self) -> collections.Counter[str]:
        """:attr:`calls` counted per operation, less those refused with TooManyRequestsException or
        ConcurrentModificationException before any effect (what the work cost, whatever AWS's throttling and
        concurrency added to it)."""
        return collections.Counter(self.strict.calls) - self.traffic.throttled - self.traffic.conflicts

    def reset_calls(self) -> None:
        """Empty the call log and the counts of throttled and conflicting calls (:attr:`traffic`)."""
        self.strict.reset_calls()
        self.traffic.reset_counts()

    def inject_error(
        self,
        operation: str,
        code: str,
        times: int = 1,
        message: str = "",
        *,
        reason: str | None = None,
        status: int = 400,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Make the next ``times`` calls of Organizations ``operation`` fail with error ``code``
        (HTTP ``status``, optional ``Reason`` and extra body ``fields``, e.g. ``{"Type": ...}``
        for TooManyRequestsException).  The failed calls still appear in :attr:`calls`.

        ``operation`` may also be the Account Management API's ``PutAccountName`` or
        ``GetAccountInformation``; their errors take the REST-JSON shape (``x-amzn-ErrorType``
        header, ``{"message": ...}`` body, ``reason`` in the body), so pass the status the
        service documents for ``code`` (e.g. 429 for TooManyRequestsException)."""
        if self._operations is None:
            self._operations = _organizations_operations()
        if operation not in self._operations:
            raise ValueError(f"{operation!r} is not an AWS Organizations operation the sandbox serves")
        if times < 1:
            raise ValueError("times must be >= 1")
        self.strict.inject_error(
            operation, code, times=times, message=message, reason=reason, status=status, fields=fields
        )

    def use_email_elsewhere(self, email: str) -> None:
        """Pretend an AWS account outside this organization already has ``email``: a CreateAccount with it
        then ends FAILED with EMAIL_ALREADY_EXISTS, as in AWS (account emails are unique across AWS)."""
        with self.strict.lock:
            self.strict.external_emails.add(email.lower())

    def standalone_account(self, email: str, name: str = "") -> str:
        """An AWS account outside any organization, to be invited (InviteAccountToOrganization); its id."""
        return self.strict.standalone_account(email, name)

    def accept_invitation(self, account_id: str) -> None:
        """The invited account's owner accepts the open invitation: the account joins under the root (JoinedMethod
        INVITED), with no OrganizationAccountAccessRole, as in AWS."""
        self.strict.answer_invitation(account_id, accept=True)

    def decline_invitation(self, account_id: str) -> None:
        """The invited account's owner declines the open invitation (DECLINED)."""
        self.strict.answer_invitation(account_id, accept=False)

    def expire_invitation(self, account_id: str) -> None:
        """The open invitation to the account expires now (AWS: after 15 days)."""
        self.strict.expire_invitation(account_id)

    def set_account_email(self, account_id: str, email: str) -> None:
        """A member account's root email changed outside Git: what the Account Management API's
        StartPrimaryEmailUpdate and AcceptPrimaryEmailUpdate do together (the email owner confirms with a code
        sent to the new address); DescribeAccount and ListAccounts answer the new email afterwards."""
        from moto.organizations.models import organizations_backends

        with self.strict.lock:
            ids = self.ids or {}
            backend = organizations_backends[ids["management_account_id"]]["aws"]
            found = [a for a in backend.accounts if a.id == account_id]
            if not found:
                raise KeyError(f"no account {account_id} in the organization")
            found[0].email = email

    def inject_response_delay(self, operation: str, seconds: float, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of Organizations ``operation`` at once, but answer them
        ``seconds`` late (for tests that kill a client between AWS acting and the client hearing of it)."""
        self.strict.inject_response_delay(operation, seconds, times=times)

    def clear_injected_errors(self) -> None:
        self.strict.clear_injected_errors()
