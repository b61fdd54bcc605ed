"""The boto3 clients: credential chain, AWS_ENDPOINT_URL, optional assumed role, call counting, and memory that does
not grow with the organization.

One botocore loader holds the service models for the whole process: every client, the management account's and the
member accounts', is built from it, so the models (some 10 MiB a service) are read and parsed once. A client built
from a session of its own reads them all again: that cost ~11 MiB per member-account client and 8.5 GB at 200
accounts (issue 25).

Member accounts do not get clients of their own. One client per (service, region) is shared by every member
account; :func:`member_service_client` binds it to one account's temporary credentials (:class:`MemberClient`, two
references), and each call made through the binding is signed with them (botocore asks its credentials object for
the keys at every signing; :class:`_BoundCredentials` answers with the binding's, per thread). So calls to many
accounts may run at once on one client (botocore clients are thread-safe), and what the operator keeps per member
account is its credentials (three short strings), never a client.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Literal

import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials, DeferredRefreshableCredentials, ReadOnlyCredentials

from controller import metrics
from controller.aws.errors import THROTTLING_CODES

#: HTTP connections a shared member client keeps open: the member-account work runs on up to
#: ``AWSORG_MEMBER_CONCURRENCY`` threads at once (its maximum, 64, is below this).
MAX_POOL_CONNECTIONS = 64

_CONFIG = Config(
    retries={"total_max_attempts": 1},  # our own retry layer retries, so every attempt is counted
    connect_timeout=10,
    read_timeout=30,
    user_agent_extra="awsorg-operator",
    max_pool_connections=MAX_POOL_CONNECTIONS,
)

_lock = threading.Lock()  # a botocore session is not thread-safe while it creates clients
_loader: Any = None


def _shared_loader() -> Any:
    """The process's one botocore loader: it caches every service model it loads."""
    with _lock:
        return _loader_unlocked()


def _loader_unlocked() -> Any:
    global _loader
    if _loader is None:
        _loader = botocore.session.get_session().get_component("data_loader")
    return _loader


def new_session() -> botocore.session.Session:
    """A botocore session reading the environment now (credential chain, AWS_ENDPOINT_URL), whose clients use the
    process's loaded models. Cheap: the models are what costs."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session


NO_CREDENTIALS = ("no AWS credentials were found (the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                  "AWS_PROFILE or ~/.aws, a web identity token such as IRSA's or GitHub's OIDC through "
                  "aws-actions/configure-aws-credentials, an ECS or EC2 role): set one of them (against the sandbox: "
                  "AWS_ENDPOINT_URL and its test keys, as tests/e2e's operator has them)")


def credentials_problem() -> str | None:
    """None when the credential chain finds credentials; else what to set, at once.  Without credentials,
    instance-metadata probing is then switched off for this process (``AWS_EC2_METADATA_DISABLED``): botocore would
    otherwise look for an EC2 role again for every client, and each call's retries wait on it."""
    try:
        found = new_session().get_credentials()
    except Exception as exc:  # a broken profile, an SSO token expired: botocore's words name it
        return f"the AWS credentials could not be loaded: {type(exc).__name__}: {exc}"
    if found is not None:
        return None
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    return NO_CREDENTIALS


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


def _assumed_session(role_arn: str, base: botocore.session.Session, region: str) -> botocore.session.Session:
    sts = _create(base, "sts", region)

    def refresh() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="awsorg-operator")["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    session = new_session()
    session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=refresh, method="sts-assume-role"
    )
    return session


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _create(session: botocore.session.Session, service: str, region: str, **credentials: Any) -> Any:
    with _lock:
        client = session.create_client(service, region_name=region, config=_CONFIG, **credentials)
    return client


def _counted_client(service: Literal["organizations", "account", "sqs", "sts", "cloudtrail", "iam"],
                    role_arn: str | None, region: str | None = None) -> Any:
    region = region or _region()
    session = new_session()
    if role_arn:
        session = _assumed_session(role_arn, session, region)
    return _counted(_create(session, service, region), service)


def _counted(client: Any, service: str) -> Any:
    client.meta.events.register(f"after-call.{service}", _count_call)
    client.meta.events.register(f"after-call-error.{service}", _count_failed_call)
    return client


# ---------------------------------------------------------------------------------------------- member accounts
_bound: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar("awsorg_member_credentials",
                                                                                    default=None)


_PLACEHOLDER = "bound-per-call"


class _BoundCredentials(Credentials):
    """The credentials of a shared member client: those of the :class:`MemberClient` making the call (this thread's
    binding). A call without a binding is refused rather than signed with anything else."""

    def __init__(self) -> None:
        super().__init__(_PLACEHOLDER, _PLACEHOLDER, method="awsorg-member-binding")

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        found = _bound.get()
        if found is None:
            raise RuntimeError("a shared member-account client was called outside a MemberClient binding")
        return found


class MemberClient:
    """A shared client of one service and region, bound to one member account's temporary credentials: a method
    called on it runs the shared client's method signed with them. Costs two references."""

    __slots__ = ("_client", "_credentials")

    def __init__(self, client: Any, credentials: ReadOnlyCredentials) -> None:
        self._client = client
        self._credentials = credentials

    @property
    def meta(self) -> Any:
        return self._client.meta

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method
        credentials = self._credentials

        def bound(*args: Any, **kwargs: Any) -> Any:
            token = _bound.set(credentials)
            try:
                return method(*args, **kwargs)
            finally:
                _bound.reset(token)

        return bound


#: Shared member clients kept: one per (service, region, endpoint settings). The operator uses four (IAM, S3, and
#: Config in each region its Organization lists); the bound keeps a process that meets many endpoints (the test
#: suite) from keeping every one.
SHARED_CLIENTS_MAX = 16
_shared: OrderedDict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = OrderedDict()
_shared_session: botocore.session.Session | None = None


def shared_member_client(service: str, region: str) -> Any:
    """The client of ``service`` in ``region`` shared by every member account (counted; credentials bound per call).
    Made once per endpoint configuration (``AWS_ENDPOINT_URL*`` as the environment holds it now)."""
    global _shared_session
    endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
    key = (service, region, endpoints)
    with _lock:
        found = _shared.get(key)
        if found is not None:
            _shared.move_to_end(key)
            return found
        if _shared_session is None:
            _shared_session = botocore.session.get_session()
            _shared_session.register_component("data_loader", _loader_unlocked())
        # Placeholder keys: the operator's own credential chain is never looked up for a member client.
        client: Any = _shared_session.create_client(
            service, region_name=region, config=_CONFIG, aws_access_key_id=_PLACEHOLDER,
            aws_secret_access_key=_PLACEHOLDER)
        client._request_signer._credentials = _BoundCredentials()  # the signer asks it at every call
        _counted(client, service)
        _shared[key] = client
        while len(_shared) > SHARED_CLIENTS_MAX:
            _shared.popitem(last=False)
        return client


def _frozen(credentials: Mapping[str, str]) -> ReadOnlyCredentials:
    return ReadOnlyCredentials(credentials["aws_access_key_id"], credentials["aws_secret_access_key"],
                               credentials["aws_session_token"], None)


def member_service_client(service: str, credentials: Mapping[str, str], region: str) -> MemberClient:
    """A counted client of ``service`` (s3, config, iam) in ``region`` with explicit (assumed) credentials: the
    shared client of that service and region, bound to them."""
    return MemberClient(shared_member_client(service, region), _frozen(credentials))


def iam_client(credentials: Mapping[str, str]) -> MemberClient:
    """A counted ``iam`` client with explicit (assumed, temporary) credentials: IAM in a member account."""
    return member_service_client("iam", credentials, _region())


MemberClientFactory = Callable[[str, Mapping[str, str], str], Any]


# ---------------------------------------------------------------------------------------------- the operator's own
def sts_client(role_arn: str | None = None) -> Any:
    """A counted ``sts`` client with the operator's credentials: AssumeRole into member accounts."""
    return _counted_client("sts", role_arn)


def cloudtrail_client(region: str, role_arn: str | None = None) -> Any:
    """A counted ``cloudtrail`` client in ``region`` (the trail's home region), with the operator's credentials."""
    return _counted_client("cloudtrail", role_arn, region)


def organizations_client(role_arn: str | None = None) -> Any:
    """A counted ``organizations`` client from the standard credential chain (``AWS_ENDPOINT_URL`` honoured)."""
    return _counted_client("organizations", role_arn)


def management_iam_client(role_arn: str | None = None) -> Any:
    """A counted ``iam`` client with the operator's credentials: IAM in the management account (centralized root
    access)."""
    return _counted_client("iam", role_arn)


def account_client(role_arn: str | None = None) -> Any:
    """A counted ``account`` (Account Management API) client, for PutAccountName."""
    return _counted_client("account", role_arn)


def sqs_client(role_arn: str | None = None) -> Any:
    """A counted ``sqs`` client, for the queue of AWS Organizations events (``AWSORG_EVENTS_QUEUE_URL``)."""
    return _counted_client("sqs", role_arn)
