"""A strict AWS Organizations layer in front of moto's WSGI application.

moto 5.2.5 implements the Organizations API but accepts many requests that real AWS refuses
(duplicate OU names, deleting non-empty OUs, detaching the last SCP, ...) and performs
asynchronous operations (CreateAccount, CloseAccount) synchronously.  :class:`StrictOrganizations`
is a WSGI middleware that sits in front of moto's ``DomainDispatcherApplication``:

* every request is recorded in a call log (operation names, thread-safe);
* errors injected with :meth:`StrictOrganizations.inject_error` are answered first;
* for Organizations requests (JSON protocol, ``X-Amz-Target: AWSOrganizationsV20161128.<Op>``)
  a per-operation *rule* checks the request against moto's in-process backend state
  (``moto.organizations.models.organizations_backends[account_id][partition]``) and either
  refuses it with the exact AWS error shape (HTTP 400,
  ``{"__type": ..., "Message": ..., "Reason": ...}``), answers it itself (where moto's
  behaviour is wrong, e.g. asynchronous account creation), or lets moto handle it;
* after moto handled a request, *post-hooks* fix up moto's state where it diverges from AWS
  (policy attachments of policy types that are not enabled);
* the two Account Management API operations the operator uses, PutAccountName and
  GetAccountInformation (REST-JSON, ``POST /putAccountName`` / ``POST /getAccountInformation``
  signed for ``account``; moto 5.2.5 does not implement that service), are answered entirely by
  the middleware from moto's Organizations state, so a rename is what ListAccounts,
  DescribeAccount and ListAccountsForParent return afterwards.  Their errors have the REST-JSON
  shape: HTTP status, ``x-amzn-ErrorType: <Code>`` and ``{"message": ...}``.

Requests are served on many threads at once, as AWS serves them: the throttling and concurrent-modification
refusals of :mod:`controller.sandbox.throttle` see them overlap.  Only the step that reads and changes moto's
state -- a rule's check, moto's handling and the post-hooks -- runs under one lock (moto's backends are plain
lists and dicts, and a rule's check must hold until the change it guards is made), which is held for
milliseconds; a write's time in flight is spent outside it.

Every rule quotes the AWS API reference wording it follows (from botocore's
``botocore/data/organizations/2016-11-28/service-2.json``).

Time-based behaviour (CreateAccount IN_PROGRESS -> SUCCEEDED/FAILED, CloseAccount
PENDING_CLOSURE -> SUSPENDED) is advanced lazily: at the start of every Organizations request,
everything whose deadline has passed is completed.  Nothing can observe the state except
through a request, so this is indistinguishable from a background worker, and it is
deterministic.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.organizations.models import (
    FakeAccount,
    FakeDelegatedAdministrator,
    FakeOrganizationalUnit,
    FakePolicy,
    FakeRoot,
    organizations_backends,
)

from controller.sandbox import cloudtrail, iam, logging_services, sts
from controller.sandbox.throttle import Refused, Traffic

ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
REST_JSON_CONTENT_TYPE = "application/json"

#: Account Management API (service ``account``, REST-JSON): request path -> operation name.
ACCOUNT_API_PATHS = {"/putAccountName": "PutAccountName", "/getAccountInformation": "GetAccountInformation"}
ACCOUNT_API_OPERATIONS = frozenset(ACCOUNT_API_PATHS.values())
#: The trusted-access service principal of AWS Account Management.
ACCOUNT_SERVICE_PRINCIPAL = "account.amazonaws.com"
ACCOUNT_API_NAME_MAX = 50  # PutAccountName AccountName: "min": 1, "max": 50
ACCOUNT_API_NAME_RE = re.compile(r"[ -;=?-~]+")  # AccountName "pattern" (fullmatch)
ACCOUNT_API_ID_RE = re.compile(r"\d{12}")  # AccountId "pattern" (fullmatch)

#: AWS quota "Number of concurrent account creations": 5.  AWS documents the refusal as
#: ConstraintViolationException reason ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: "You attempted to
#: exceed the number of accounts that can be in progress at a time."
MAX_CREATE_ACCOUNT_IN_PROGRESS = 5
#: "For service control policies, the limit is five." (CreateOrganizationalUnit)
MAX_OU_DEPTH = 5
#: AWS quotas: at most 5 SCPs and 5 RCPs attached directly to one root, OU or account.
MAX_ATTACHMENTS_PER_TYPE = {"SERVICE_CONTROL_POLICY": 5, "RESOURCE_CONTROL_POLICY": 5}
#: AWS quotas: maximum policy document size, in characters as submitted.
MAX_POLICY_SIZE = {
    "SERVICE_CONTROL_POLICY": 5120,
    "RESOURCE_CONTROL_POLICY": 5120,
    "TAG_POLICY": 10000,
    "BACKUP_POLICY": 10000,
    "AISERVICES_OPT_OUT_POLICY": 2500,
}
#: The AWS managed policy that AWS attaches to every root, OU and account when the type is enabled.
DEFAULT_POLICY_FOR_TYPE = {
    "SERVICE_CONTROL_POLICY": "p-FullAWSAccess",
    "RESOURCE_CONTROL_POLICY": "p-RCPFullAWSAccess",
}
#: Policy types whose documents use the IAM policy grammar.
IAM_GRAMMAR_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"})

#: How long after a write's answer its CloudTrail record reaches the EventBridge rules' queues.
EVENT_DELIVERY_SECONDS = 0.1
NAME_MAX = 128  # OrganizationalUnitName, PolicyName: "max": 128 (CreateAccount's AccountName is 50: aws_limits.py)
EMAIL_MAX = 64  # Email: "max": 64
DESCRIPTION_MAX = 512  # PolicyDescription: "max": 512

PARENT_ID_RE = re.compile(r"^(r-[0-9a-z]{4,32})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
OU_ID_RE = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
TARGET_ID_RE = re.compile(r"^(r-[0-9a-z]{4,32})$|^(\d{12})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
ACCESS_KEY_RE = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]+/([^/]+)/")
SIGNING_SERVICE_RE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/")


class OrganizationsError(Exception):
    """An error answered the way AWS answers it: HTTP 400 and a JSON body with ``__type``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        status: int = 400,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status
        self.fields = dict(fields or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"__type": self.code, "Message": self.message}
        if self.reason is not None:
            out["Reason"] = self.reason
        out.update(self.fields)
        return out

    def rest_json_body(self) -> dict[str, Any]:
        """The body of a REST-JSON error (Account Management API): ``{"message": ...}`` plus the
        error shape's other members (``reason``, ``fieldList`` for ValidationException); the code
        travels in the ``x-amzn-ErrorType`` header."""
        out: dict[str, Any] = {"message": self.message}
        if self.reason is not None:
            out["reason"] = self.reason
        out.update(self.fields)
        return out


def _invalid(reason: str, message: str) -> OrganizationsError:
    return OrganizationsError("InvalidInputException", message, reason=reason)


def _constraint(reason: str, message: str) -> OrganizationsError:
    return OrganizationsError("ConstraintViolationException", message, reason=reason)


def _check_max_length(value: Any, limit: int) -> None:
    """InvalidInputException MAX_LENGTH_EXCEEDED: "You provided a string parameter that is longer
    than allowed."  (botocore only validates ``min`` client-side, so ``max`` reaches the server.)"""
    if isinstance(value, str) and len(value) > limit:
        raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")


# --------------------------------------------------------------------------------------------------
# Policy documents


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_policy_document(policy_type: str, content: Any) -> None:
    """MalformedPolicyDocumentException: "The provided policy document doesn't meet the
    requirements of the specified policy type. For example, the syntax might be incorrect."

    Size: ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED: "You attempted to create a
    policy that is larger than the maximum size."  (AWS quota: 5,120 characters for SCPs and RCPs,
    counted on the document as submitted, whitespace included.)

    For SCPs and RCPs the document must follow the IAM policy grammar: a JSON object with
    ``Version`` "2012-10-17" (or "2008-10-17") and a non-empty ``Statement`` (object or list);
    every statement has ``Effect`` Allow or Deny, exactly one of ``Action``/``NotAction`` with
    string values, and no unknown keys.  RCPs additionally need ``Principal`` and ``Resource``/
    ``NotResource``, and custom RCPs may only Deny (only the AWS managed RCPFullAWSAccess allows).
    Other policy types (tag, backup, AI opt-out) only need to be a JSON object.
    """
    if not isinstance(content, str):
        raise OrganizationsError("MalformedPolicyDocumentException", "The policy content must be a string.")
    limit = MAX_POLICY_SIZE.get(policy_type)
    if limit is not None and len(content) > limit:
        raise _constraint(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            f"The policy content exceeds the maximum size of {limit} characters for {policy_type}.",
        )

    def malformed(detail: str) -> OrganizationsError:
        return OrganizationsError(
            "MalformedPolicyDocumentException",
            f"The provided policy document does not meet the requirements of the specified policy type: {detail}",
        )

    try:
        doc = json.loads(content)
    except ValueError as exc:
        raise malformed(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise malformed("the document must be a JSON object")
    if policy_type not in IAM_GRAMMAR_TYPES:
        return

    allowed_top = {"Version", "Id", "Statement"}
    if set(doc) - allowed_top:
        raise malformed(f"unknown top-level element(s) {sorted(set(doc) - allowed_top)}")
    if doc.get("Version") not in ("2012-10-17", "2008-10-17"):
        raise malformed('Version must be "2012-10-17"')
    statements = doc.get("Statement")
    if statements is None or statements == [] or not isinstance(statements, (dict, list)):
        raise malformed("Statement is required and must be an object or a non-empty list")
    allowed_stmt = {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "NotPrincipal",
    }
    for stmt in _as_list(statements):
        if not isinstance(stmt, dict):
            raise malformed("every statement must be an object")
        unknown = set(stmt) - allowed_stmt
        if unknown:
            raise malformed(f"unknown statement element(s) {sorted(unknown)}")
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise malformed(f"Effect must be Allow or Deny, not {effect!r}")
        if ("Action" in stmt) == ("NotAction" in stmt):
            raise malformed("a statement needs exactly one of Action or NotAction")
        actions = _as_list(stmt.get("Action", stmt.get("NotAction")))
        if not actions or not all(isinstance(a, str) and a for a in actions):
            raise malformed("Action must be a non-empty string or list of strings")
        for key in ("Resource", "NotResource"):
            if key in stmt:
                values = _as_list(stmt[key])
                if not values or not all(isinstance(v, str) and v for v in values):
                    raise malformed(f"{key} must be a non-empty string or list of strings")
        if "Condition" in stmt and not isinstance(stmt["Condition"], dict):
            raise malformed("Condition must be an object")
        if policy_type == "RESOURCE_CONTROL_POLICY":
            if "Principal" not in stmt and "NotPrincipal" not in stmt:
                raise malformed("an RCP statement needs a Principal")
            if "Resource" not in stmt and "NotResource" not in stmt:
                raise malformed("an RCP statement needs a Resource")
            if effect != "Deny":
                raise malformed("custom RCPs can only contain Deny statements")
        elif "Principal" in stmt or "NotPrincipal" in stmt:
            raise malformed("SCP statements can't have a Principal")


# --------------------------------------------------------------------------------------------------
# Asynchronous account creation / closure


@dataclass
class CreateAccountRequest:
    """One CreateAccount request, answered by the middleware (moto creates accounts synchronously)."""

    id: str
    backend_key: tuple[str, str]
    params: dict[str, Any]
    requested: float
    ready_at: float
    state: str = "IN_PROGRESS"
    completed: float | None = None
    account_id: str | None = None
    failure_reason: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "AccountName": self.params.get("AccountName"),
            "State": self.state,
            "RequestedTimestamp": self.requested,
        }
        if self.completed is not None:
            out["CompletedTimestamp"] = self.completed
        if self.account_id is not None:
            out["AccountId"] = self.account_id
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        return out


@dataclass
class Handshake:
    """One handshake of the all-features migration (``pending``: invited accounts yet to approve)."""

    id: str
    action: str  # ENABLE_ALL_FEATURES | APPROVE_ALL_FEATURES
    backend_key: tuple[str, str]
    requested: float
    state: str = "OPEN"
    pending: set[str] = field(default_factory=set)
    parent: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "Arn": f"arn:aws:organizations::{self.backend_key[0]}:handshake/{self.action.lower()}/{self.id}",
            "Parties": [{"Id": self.backend_key[0], "Type": "ACCOUNT"}],
            "State": self.state,
            "RequestedTimestamp": self.requested,
            "ExpirationTimestamp": self.requested + 90 * 86400,
            "Action": self.action,
            "Resources": [{"Value": "ALL", "Type": "ORGANIZATION_FEATURE_SET"}],
        }
        if self.parent:
            out["Resources"].append({"Value": self.parent, "Type": "PARENT_HANDSHAKE"})
        return out


@dataclass
class InjectedError:
    code: str
    message: str
    remaining: int
    reason: str | None = None
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a rule needs: the operation, its JSON parameters and the caller's moto backend."""

    operation: str
    params: dict[str, Any]
    backend: Any
    backend_key: tuple[str, str]


Rule = Callable[["StrictOrganizations", Ctx], "dict[str, Any] | None"]
PostHook = Callable[["StrictOrganizations", Ctx], None]

_RULES: dict[str, Rule] = {}
_POST_HOOKS: dict[str, PostHook] = {}
_CHECKS: dict[str, list[Rule]] = {}
#: Each may end a CreateAccount request FAILED: returns the FailureReason, or None.
_CREATE_ACCOUNT_OUTCOMES: list[Callable[[StrictOrganizations, Any, CreateAccountRequest], str | None]] = []


def rule(operation: str) -> Callable[[Rule], Rule]:
    """Register a rule: raise OrganizationsError to refuse, return a dict to answer, None to pass to moto."""

    def register(fn: Rule) -> Rule:
        _RULES[operation] = fn
        return fn

    return register


def check(operation: str) -> Callable[[Rule], Rule]:
    """Register a check (several per operation, in :mod:`controller.sandbox.aws_limits` and the like): it runs
    before the operation's rule; raise OrganizationsError to refuse, return a dict to answer, None to go on."""

    def register(fn: Rule) -> Rule:
        _CHECKS.setdefault(operation, []).append(fn)
        return fn

    return register


def create_account_outcome(
    fn: Callable[[StrictOrganizations, Any, CreateAccountRequest], str | None],
) -> Callable[[StrictOrganizations, Any, CreateAccountRequest], str | None]:
    """Register a reason a CreateAccount request may end FAILED (checked when it completes)."""
    _CREATE_ACCOUNT_OUTCOMES.append(fn)
    return fn


def post_hook(operation: str) -> Callable[[PostHook], PostHook]:
    def register(fn: PostHook) -> PostHook:
        _POST_HOOKS[operation] = fn
        return fn

    return register


# --------------------------------------------------------------------------------------------------
# The middleware


class StrictOrganizations:
    """WSGI middleware: call log, fault injection and AWS rules in front of moto's application."""

    def __init__(self, app: Any, *, create_account_delay: float = 0.0, close_account_delay: float = 0.0,
                 member_role_delay: float = 0.0):
        self.app = app
        self.member_role_delay = member_role_delay  # see controller.sandbox.sts: a new account's role, assumable later
        self.events_delivered = 0  # CloudTrail events of Organizations writes delivered to SQS queues
        self._deliveries: set[threading.Timer] = set()  # events on their way (EVENT_DELIVERY_SECONDS)
        self._world = 0  # bumped by reset_state: an event of the world before a reset is never delivered
        self.create_account_delay = create_account_delay
        self.close_account_delay = close_account_delay
        self.lock = threading.RLock()  # serialises the state step of Organizations requests (and state resets)
        #: throttling and concurrent-modification refusals (controller.sandbox.throttle)
        self.traffic = Traffic()
        self._log_lock = threading.Lock()
        self._calls: list[str] = []
        self._injected: dict[str, list[InjectedError]] = {}
        self._delays: dict[str, list[float]] = {}
        self.create_requests: dict[str, CreateAccountRequest] = {}
        #: (backend key, account id) -> time at which the PENDING_CLOSURE account becomes SUSPENDED
        self.pending_closures: dict[tuple[tuple[str, str], str], float] = {}
        #: (account id, partition) -> name given with PutAccountName by an account that is in no
        #: organization (moto has no account object for it)
        self.standalone_account_names: dict[tuple[str, str], str] = {}
        #: emails of AWS accounts outside this organization (AWS account emails are unique across AWS)
        self.external_emails: set[str] = set()
        #: handshake id -> the all-features handshakes (moto 5.2.5 has none): see section E
        self.handshakes: dict[str, Handshake] = {}

    # -- public helpers ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[str]:
        with self._log_lock:
            return list(self._calls)

    def reset_calls(self) -> None:
        with self._log_lock:
            self._calls.clear()

    def inject_error(
        self,
        operation: str,
        code: str,
        *,
        times: int = 1,
        message: str = "",
        reason: str | None = None,
        status: int = 400,
        fields: dict[str, str] | None = None,
    ) -> None:
        with self._log_lock:
            self._injected.setdefault(operation, []).append(
                InjectedError(code, message, times, reason, status, dict(fields or {}))
            )

    def clear_injected_errors(self) -> None:
        with self._log_lock:
            self._injected.clear()
            self._delays.clear()

    def reset_state(self) -> None:
        """Forget create-account requests, pending closures, events on their way, injected errors and the call
        log."""
        with self.lock:
            self._world += 1
            self.create_requests.clear()
            self.pending_closures.clear()
            self.standalone_account_names.clear()
            self.external_emails.clear()
            self.handshakes.clear()
        self.clear_injected_errors()
        self.reset_calls()
        self.traffic.reset()

    def advance(self, now: float | None = None) -> None:
        """Complete every asynchronous operation whose deadline has passed."""
        now = time.time() if now is None else now
        with self.lock:
            for req in self.create_requests.values():
                if req.state == "IN_PROGRESS" and req.ready_at <= now:
                    self._finish_create_account(req)
            for key, ready_at in list(self.pending_closures.items()):
                if ready_at <= now:
                    del self.pending_closures[key]
                    (backend_key, account_id) = key
                    backend = organizations_backends[backend_key[0]][backend_key[1]]
                    account = _find_account(backend, account_id)
                    if account is not None and account.status == "PENDING_CLOSURE":
                        account.status = "SUSPENDED"
                        account.state = "SUSPENDED"

    def approve_all_features(self, account_id: str | None = None) -> None:
        """What an administrator of an invited member account does in AWS: approve the open
        EnableAllFeatures handshake (``account_id`` None: every invited account approves)."""
        with self.lock:
            for hs in list(self.handshakes.values()):
                if hs.action == "ENABLE_ALL_FEATURES" and hs.state == "OPEN":
                    hs.pending -= {account_id} if account_id else set(hs.pending)
                    self._all_features_approved(hs)

    def _all_features_approved(self, hs: Handshake) -> None:
        """When no invited account is left to approve, AWS sends the management account the
        APPROVE_ALL_FEATURES handshake ("Handshake sent to the management account when all invited
        member accounts have approved to enable all features", ActionType)."""
        if hs.pending or hs.state != "OPEN":
            return
        hs.state = "ACCEPTED"
        approve = Handshake(f"h-{uuid.uuid4().hex[:12]}", "APPROVE_ALL_FEATURES", hs.backend_key, time.time(),
                            parent=hs.id)
        self.handshakes[approve.id] = approve

    # -- WSGI ----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        account_operation = _account_api_operation(environ)
        if account_operation is not None:
            with self._log_lock:
                self._calls.append(account_operation)
            injected = self._take_injected(account_operation)
            if injected is not None:
                return _rest_json_error_response(start_response, injected)
            with self.lock:
                return self._handle_account_api(environ, start_response, account_operation, body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = _operation_name(environ, target, body)
        if operation is not None:
            with self._log_lock:
                self._calls.append(operation)
            injected = self._take_injected(operation)
            if injected is not None:
                return _error_response(start_response, injected)
        if not target and operation is None:  # S3 (REST): BlockPublicPolicy, logging_services.s3_refusal
            with self.lock:
                blocked = logging_services.s3_refusal(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""),
                                                      environ.get("QUERY_STRING", ""), body)
            if blocked is not None:
                start_response(blocked[0], [("Content-Type", "application/xml"),
                                            ("Content-Length", str(len(blocked[1])))])
                return [blocked[1]]
        if operation == "AttachRolePolicy" and not target:
            with self.lock:
                logging_services.provide_managed_policy(body, _caller(environ)[0])
        if operation == "AssumeRole" and not target:
            refused = sts.refusal(body, _caller(environ)[0], self)
            if refused is not None:
                start_response(refused[0], [("Content-Type", "text/xml"), ("Content-Length", str(len(refused[1])))])
                return [refused[1]]
        if operation in iam.OPERATIONS and not target:
            refused = iam.before(operation, body, _caller(environ)[0])
            if refused is not None:
                start_response(refused[0], [("Content-Type", "text/xml"), ("Content-Length", str(len(refused[1])))])
                return [refused[1]]
        if target and not target.startswith(ORGANIZATIONS_TARGET_PREFIX):
            match = ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
            with self.lock:  # CloudTrail and Config rules read Organizations' state: logging_services.py
                denied = logging_services.refusal(target, body, _caller(environ)[0],
                                                  match.group(2) if match else "us-east-1")
            if denied is not None:
                data = denied.body()
                start_response("400 Bad Request", _headers(len(data)))
                return [data]
        if not target.startswith(ORGANIZATIONS_TARGET_PREFIX) or operation is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        answered: dict[str, Any] = {}

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(k.lower() == "x-amzn-requestid" for k, _ in headers):
                headers = [*headers, ("x-amzn-RequestId", str(uuid.uuid4()))]
            answered["status"] = status
            answered["request_id"] = next(v for k, v in headers if k.lower() == "x-amzn-requestid")
            return start_response(status, headers, exc_info)

        try:
            with self.traffic.request(_caller(environ), operation, _json_params(body)), self.lock:
                result = self._handle_organizations(environ, recording, operation, body)
                if str(answered.get("status", "")).startswith("2") and cloudtrail.is_write(operation):
                    # CloudTrail records the call and EventBridge delivers it (to the rules' SQS queues).
                    self._emit_event(environ, operation, body, str(answered["request_id"]))
        except Refused as refused:
            return _error_response(start_response, OrganizationsError(refused.code, refused.message))
        delay = self._take_response_delay(operation)
        if delay:
            # The request has taken effect; only the answer is late (a slow network, or a client that
            # dies before it reads the answer: what crash-safety tests need).
            time.sleep(delay)
        return result

    def _emit_event(self, environ: dict[str, Any], operation: str, body: bytes, request_id: str) -> None:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        account_id, _ = _caller(environ)
        match = ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        event = cloudtrail.organizations_event(operation, params if isinstance(params, dict) else {}, request_id,
                                               account_id, match.group(1) if match else "")
        # EventBridge delivers CloudTrail's record of a call after the call has answered (best effort, "typically
        # within seconds"), never before: a caller always holds the RequestId before its own event can arrive.
        timer = threading.Timer(EVENT_DELIVERY_SECONDS, lambda: self._deliver(timer, world, event, account_id))
        timer.daemon = True
        with self._log_lock:
            world = self._world
            self._deliveries.add(timer)
        timer.start()

    def _deliver(self, timer: threading.Timer, world: int, event: dict[str, Any], account_id: str) -> None:
        with self.lock:
            if world == self._world:
                self.events_delivered += cloudtrail.deliver(event, account_id)
            with self._log_lock:
                self._deliveries.discard(timer)

    def flush_events(self, timeout: float = 5.0) -> None:
        """Wait until every event on its way has been delivered (or dropped by a reset)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._log_lock:
                pending = list(self._deliveries)
            if not pending:
                return
            pending[0].join(max(0.0, deadline - time.monotonic()))

    def inject_response_delay(self, operation: str, seconds: float, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``operation`` at once but answer them ``seconds`` late."""
        with self._log_lock:
            self._delays.setdefault(operation, []).extend([seconds] * times)

    def _take_response_delay(self, operation: str) -> float:
        with self._log_lock:
            queue = self._delays.get(operation)
            return queue.pop(0) if queue else 0.0

    def _take_injected(self, operation: str) -> OrganizationsError | None:
        with self._log_lock:
            queue = self._injected.get(operation)
            if not queue:
                return None
            item = queue[0]
            item.remaining -= 1
            if item.remaining <= 0:
                queue.pop(0)
            message = item.message or f"Injected {item.code} for {operation}"
            return OrganizationsError(item.code, message, reason=item.reason, status=item.status, fields=item.fields)

    def _handle_organizations(
        self, environ: dict[str, Any], start_response: Callable[..., Any], operation: str, body: bytes
    ) -> Iterable[bytes]:
        self.advance()
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        account_id, partition = _caller(environ)
        backend = organizations_backends[account_id][partition]
        ctx = Ctx(operation, params, backend, (account_id, partition))

        check = _RULES.get(operation)
        try:
            answer = None
            for first in _CHECKS.get(operation, ()):
                answer = first(self, ctx)
                if answer is not None:
                    break
            if answer is None:
                answer = check(self, ctx) if check is not None else None
        except OrganizationsError as err:
            return _error_response(start_response, err)
        if answer is not None:
            return _json_response(start_response, answer)

        # Let moto handle it, then fix up moto's state where it differs from AWS.
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, capture)
        try:
            chunks = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if str(captured.get("status", "")).startswith("200"):
            hook = _POST_HOOKS.get(operation)
            if hook is not None:
                hook(self, ctx)
            normalize_policy_attachments(backend)
        start_response(captured["status"], captured["headers"])
        return [chunks]

    def _handle_account_api(
        self, environ: dict[str, Any], start_response: Callable[..., Any], operation: str, body: bytes
    ) -> Iterable[bytes]:
        self.advance()
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = None
        account_id, partition = _caller(environ)
        try:
            if not isinstance(params, dict):
                raise _account_validation("The request body is not a JSON object.", [])
            answer = _ACCOUNT_API_HANDLERS[operation](self, params, account_id, partition)
        except OrganizationsError as err:
            return _rest_json_error_response(start_response, err)
        return _rest_json_response(start_response, answer)

    # -- account creation --------------------------------------------------------------------------

    def _finish_create_account(self, req: CreateAccountRequest) -> None:
        backend = organizations_backends[req.backend_key[0]][req.backend_key[1]]
        req.completed = req.ready_at
        email = str(req.params.get("Email", "")).lower()
        if backend.org is None:
            req.state, req.failure_reason = "FAILED", "INTERNAL_FAILURE"
            return
        if email in self.external_emails or any(str(a.email).lower() == email for a in backend.accounts):
            # CreateAccountStatus.FailureReason EMAIL_ALREADY_EXISTS: "The account could not be
            # created because another Amazon Web Services account with that email address already
            # exists."
            req.state, req.failure_reason = "FAILED", "EMAIL_ALREADY_EXISTS"
            return
        for outcome in _CREATE_ACCOUNT_OUTCOMES:
            failure = outcome(self, backend, req)
            if failure is not None:
                req.state, req.failure_reason = "FAILED", failure
                return
        kwargs = {k: v for k, v in req.params.items() if k in ("AccountName", "Email", "RoleName", "Tags")}
        status = backend.create_account(**kwargs)["CreateAccountStatus"]
        account = _find_account(backend, status["AccountId"])
        if account is not None:
            account.create_account_status_id = req.id
        normalize_policy_attachments(backend)
        req.state, req.account_id = "SUCCEEDED", status["AccountId"]


# --------------------------------------------------------------------------------------------------
# WSGI helpers


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if (stream is not None and length > 0) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _json_params(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _operation_name(environ: dict[str, Any], target: str, body: bytes) -> str | None:
    if target:
        return target.rsplit(".", 1)[-1]
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return None
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if not action and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def _caller(environ: dict[str, Any]) -> tuple[str, str]:
    """The (account id, partition) moto resolves for this request, the same way moto does."""
    from moto.iam.models import get_account_id_from
    from moto.utilities.utils import get_partition

    match = ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key = match.group(1) if match else "AKIAEXAMPLE"
    region = match.group(2) if match else "us-east-1"
    return str(get_account_id_from(access_key)), str(get_partition(region))


def _headers(length: int) -> list[tuple[str, str]]:
    return [
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Content-Length", str(length)),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]


def _json_response(start_response: Callable[..., Any], payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response("200 OK", _headers(len(data)))
    return [data]


def _error_response(start_response: Callable[..., Any], err: OrganizationsError) -> list[bytes]:
    data = json.dumps(err.body()).encode()
    start_response(f"{err.status} Error", _headers(len(data)))
    return [data]


def _account_api_operation(environ: dict[str, Any]) -> str | None:
    """PutAccountName / GetAccountInformation for a ``POST`` to their REST path signed for the
    ``account`` service (an unsigned request is taken by its path alone); else None."""
    if environ.get("REQUEST_METHOD", "").upper() != "POST":
        return None
    operation = ACCOUNT_API_PATHS.get(environ.get("PATH_INFO", ""))
    if operation is None:
        return None
    match = SIGNING_SERVICE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is not None and match.group(1) != "account":
        return None
    return operation


def _rest_json_headers(length: int) -> list[tuple[str, str]]:
    return [
        ("Content-Type", REST_JSON_CONTENT_TYPE),
        ("Content-Length", str(length)),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]


def _rest_json_response(start_response: Callable[..., Any], payload: dict[str, Any] | None) -> list[bytes]:
    """HTTP 200; ``None`` is an operation without output ("HTTP 200 response with an empty HTTP body")."""
    data = b"" if payload is None else json.dumps(payload).encode()
    start_response("200 OK", _rest_json_headers(len(data)))
    return [data]


def _rest_json_error_response(start_response: Callable[..., Any], err: OrganizationsError) -> list[bytes]:
    """botocore's REST-JSON parser takes ``Error.Code`` from ``x-amzn-ErrorType`` and
    ``Error.Message`` from the body's ``message``."""
    data = json.dumps(err.rest_json_body()).encode()
    headers = _rest_json_headers(len(data))
    headers.append(("x-amzn-ErrorType", err.code))
    start_response(f"{err.status} Error", headers)
    return [data]


# --------------------------------------------------------------------------------------------------
# Backend lookups


def _require_org(backend: Any) -> None:
    if backend.org is None:
        raise OrganizationsError(
            "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."
        )


def _root(backend: Any) -> FakeRoot | None:
    return next((ou for ou in backend.ou if isinstance(ou, FakeRoot)), None)


def _find_container(backend: Any, container_id: str) -> FakeOrganizationalUnit | None:
    """A root or OU with that id."""
    return next((ou for ou in backend.ou if ou.id == container_id), None)


def _find_ou(backend: Any, ou_id: str) -> FakeOrganizationalUnit | None:
    return next((ou for ou in backend.ou if ou.id == ou_id and not isinstance(ou, FakeRoot)), None)


def _find_account(backend: Any, account_id: str) -> FakeAccount | None:
    return next((a for a in backend.accounts if a.id == account_id), None)


def _find_policy(backend: Any, policy_id: str) -> FakePolicy | None:
    return next((p for p in backend.policies if p.id == policy_id), None)


def _find_target(backend: Any, target_id: str) -> Any:
    return _find_container(backend, target_id) or _find_account(backend, target_id)


def _enabled_policy_types(backend: Any) -> set[str]:
    root = _root(backend)
    if root is None:
        return set()
    return {t["Type"] for t in root.policy_types if t.get("Status") == "ENABLED"}


def _depth(backend: Any, container: FakeOrganizationalUnit) -> int:
    """0 for the root, 1 for an OU directly under the root, ..."""
    depth = 0
    node: FakeOrganizationalUnit | None = container
    while node is not None and not isinstance(node, FakeRoot):
        depth += 1
        node = _find_container(backend, str(node.parent_id))
    return depth


def _require_policy(backend: Any, policy_id: Any) -> FakePolicy:
    policy = _find_policy(backend, str(policy_id))
    if policy is None:
        raise OrganizationsError(
            "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified."
        )
    return policy


def _require_target(backend: Any, target_id: Any) -> Any:
    if not TARGET_ID_RE.match(str(target_id)):
        raise _invalid(
            "INVALID_PATTERN_TARGET_ID", "You specified a policy target ID that doesn't match the required pattern."
        )
    target = _find_target(backend, str(target_id))
    if target is None:
        raise OrganizationsError(
            "TargetNotFoundException",
            "We can't find a root, OU, account, or policy with the TargetId that you specified.",
        )
    return target


def _attach(policy: FakePolicy, target: Any) -> None:
    if policy not in target.attached_policies:
        target.attached_policies.append(policy)
    if target not in policy.attachments:
        policy.attachments.append(target)


def _detach_everywhere(policy: FakePolicy) -> None:
    for target in list(policy.attachments):
        if policy in target.attached_policies:
            target.attached_policies.remove(policy)
    policy.attachments.clear()


def normalize_policy_attachments(backend: Any) -> None:
    """No policy of a type that is not enabled in the root is attached anywhere.

    moto attaches FullAWSAccess and RCPFullAWSAccess to the root, every OU and every account
    although no policy type is enabled in a new organization.  AWS (EnablePolicyType): "After you
    enable a policy type in a root, you can attach policies of that type to the root, any
    organizational unit (OU), or account in that root." and (DisablePolicyType): "After you
    perform this operation, you no longer can attach policies of the specified type to that root
    or to any organizational unit (OU) or account in that root." -- disabling a type detaches all
    policies of that type.
    """
    if backend.org is None:
        return
    enabled = _enabled_policy_types(backend)
    for policy in backend.policies:
        if policy.type not in enabled and policy.attachments:
            _detach_everywhere(policy)


# --------------------------------------------------------------------------------------------------
# A. Organizational units


@rule("CreateOrganizationalUnit")
def _create_ou(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """CreateOrganizationalUnit.

    * name longer than 128 -> InvalidInputException MAX_LENGTH_EXCEEDED ("You provided a string
      parameter that is longer than allowed."; OrganizationalUnitName "max": 128);
    * ParentId not matching its pattern -> InvalidInputException INVALID_PATTERN;
    * parent that does not exist -> ParentNotFoundException ("We can't find a root or OU with the
      ParentId that you specified."); moto creates the OU under a non-existent parent;
    * an OU with the same name under the same parent -> DuplicateOrganizationalUnitException
      ("An OU with the same name already exists."); moto accepts it;
    * nesting deeper than five levels -> ConstraintViolationException OU_DEPTH_LIMIT_EXCEEDED
      ("You attempted to create an OU tree that is too many levels deep."; "The number of levels
      deep that you can nest OUs is dependent upon the policy types enabled for that root. For
      service control policies, the limit is five.").
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    name = params.get("Name")
    _check_max_length(name, NAME_MAX)
    parent_id = str(params.get("ParentId", ""))
    if not PARENT_ID_RE.match(parent_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    parent = _find_container(backend, parent_id)
    if parent is None:
        raise OrganizationsError(
            "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."
        )
    if any(ou.parent_id == parent_id and ou.name == name for ou in backend.ou):
        raise OrganizationsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
    if _depth(backend, parent) + 1 > MAX_OU_DEPTH:
        raise _constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
    return None  # moto creates it; the generic post-processing drops default attachments


@rule("UpdateOrganizationalUnit")
def _update_ou(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """UpdateOrganizationalUnit: "Renames the specified organizational unit (OU)."

    A name used by another OU under the same parent -> DuplicateOrganizationalUnitException.
    Answered here because moto refuses a name used by *any* OU anywhere (and renaming an OU to
    its own name), which AWS allows.  Unknown OU -> OrganizationalUnitNotFoundException.
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    ou = _find_ou(backend, str(params.get("OrganizationalUnitId", "")))
    if ou is None:
        raise OrganizationsError(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        )
    name = params.get("Name")
    if name is not None:
        _check_max_length(name, NAME_MAX)
        if any(o is not ou and o.parent_id == ou.parent_id and o.name == name for o in backend.ou):
            raise OrganizationsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
        ou.name = name
    return dict(ou.describe())


@rule("DeleteOrganizationalUnit")
def _delete_ou(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """DeleteOrganizationalUnit: "You must first remove all accounts and child OUs from the OU that
    you want to delete." -> OrganizationalUnitNotEmptyException ("The specified OU is not empty.
    Move all accounts to another root or to other OUs, remove all child OUs, and try the
    operation again.").  moto deletes non-empty OUs (orphaning children) and leaves the deleted
    OU in its policies' attachment lists; answered here.
    """
    backend = ctx.backend
    _require_org(backend)
    ou_id = str(ctx.params.get("OrganizationalUnitId", ""))
    if not OU_ID_RE.match(ou_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    ou = _find_ou(backend, ou_id)
    if ou is None:
        raise OrganizationsError(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        )
    if any(o.parent_id == ou_id for o in backend.ou) or any(a.parent_id == ou_id for a in backend.accounts):
        raise OrganizationsError(
            "OrganizationalUnitNotEmptyException",
            "The specified OU is not empty. Move all accounts to another root or to other OUs, "
            "remove all child OUs, and try the operation again.",
        )
    for policy in list(ou.attached_policies):
        if ou in policy.attachments:
            policy.attachments.remove(ou)
    ou.attached_policies.clear()
    backend.ou.remove(ou)
    return {}


@rule("MoveAccount")
def _move_account(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """MoveAccount ("Moves an account from its current source parent root or organizational unit
    (OU) to the specified destination parent root or OU").

    * unknown account -> AccountNotFoundException;
    * unknown source -> SourceParentNotFoundException ("We can't find a source root or OU with the
      ParentId that you specified."), also when the account is not in that source (moto ignores
      SourceParentId entirely);
    * unknown destination -> DestinationParentNotFoundException ("We can't find the destination
      container (a root or OU) with the ParentId that you specified."); moto answers
      ParentNotFoundException for both;
    * already in the destination -> DuplicateAccountException ("That account is already present in
      the specified destination.").
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    account = _find_account(backend, str(params.get("AccountId", "")))
    if account is None:
        raise OrganizationsError("AccountNotFoundException", "You specified an account that doesn't exist.")
    source_id = str(params.get("SourceParentId", ""))
    dest_id = str(params.get("DestinationParentId", ""))
    for value in (source_id, dest_id):
        if not PARENT_ID_RE.match(value):
            raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    if _find_container(backend, source_id) is None:
        raise OrganizationsError(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        )
    if _find_container(backend, dest_id) is None:
        raise OrganizationsError(
            "DestinationParentNotFoundException",
            "We can't find the destination container (a root or OU) with the ParentId that you specified.",
        )
    if account.parent_id == dest_id:
        raise OrganizationsError(
            "DuplicateAccountException", "That account is already present in the specified destination."
        )
    if account.parent_id != source_id:
        raise OrganizationsError(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        )
    account.parent_id = dest_id
    return {}


# --------------------------------------------------------------------------------------------------
# B. Accounts


@rule("CreateAccount")
def _create_account(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """CreateAccount: "This is an asynchronous request that Amazon Web Services performs in the
    background. [...] To check the status of the request, [...] Use the Id value of the
    CreateAccountStatus response element from this operation to provide as a parameter to the
    DescribeCreateAccountStatus operation."

    Answered here (moto creates the account synchronously and answers SUCCEEDED): the answer is
    always ``State: IN_PROGRESS``; the account appears (in ListAccounts, ListAccountsForParent,
    DescribeAccount) only ``create_account_delay`` seconds later, when the request becomes
    SUCCEEDED -- or FAILED with ``FailureReason: EMAIL_ALREADY_EXISTS`` if an account of the
    organization already uses that email ("another Amazon Web Services account with that email
    address already exists"), in which case no account is created.  With a delay of 0 the very
    next request already sees the outcome.

    Too many requests in progress: AWS documents ConstraintViolationException reason
    ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED -- "You attempted to exceed the number of accounts that
    can be in progress at a time." -- and the quota "Number of concurrent account creations" is 5,
    so a 6th request while 5 are IN_PROGRESS is refused that way (not TooManyRequestsException,
    which is AWS's generic API throttling, nor ConcurrentModificationException, which is about one
    target being modified by two requests).
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    _check_max_length(params.get("AccountName"), NAME_MAX)
    _check_max_length(params.get("Email"), EMAIL_MAX)
    in_progress = [
        r for r in mw.create_requests.values() if r.backend_key == ctx.backend_key and r.state == "IN_PROGRESS"
    ]
    if len(in_progress) >= MAX_CREATE_ACCOUNT_IN_PROGRESS:
        raise _constraint(
            "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED",
            "You attempted to exceed the number of accounts that can be in progress at a time.",
        )
    now = time.time()
    req = CreateAccountRequest(
        id=f"car-{uuid.uuid4().hex}",
        backend_key=ctx.backend_key,
        params=dict(params),
        requested=now,
        ready_at=now + mw.create_account_delay,
    )
    mw.create_requests[req.id] = req
    return {"CreateAccountStatus": req.describe()}  # always IN_PROGRESS, even with a delay of 0


@rule("DescribeCreateAccountStatus")
def _describe_create_account_status(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """DescribeCreateAccountStatus: "Retrieves the current status of an asynchronous request to
    create an account."  Unknown id -> CreateAccountStatusNotFoundException ("We can't find an
    create account request with the CreateAccountRequestId that you specified."); moto answers
    AccountNotFoundException and knows nothing of IN_PROGRESS or FAILED requests.
    """
    _require_org(ctx.backend)
    req = mw.create_requests.get(str(ctx.params.get("CreateAccountRequestId", "")))
    if req is None or req.backend_key != ctx.backend_key:
        raise OrganizationsError(
            "CreateAccountStatusNotFoundException",
            "We can't find an create account request with the CreateAccountRequestId that you specified.",
        )
    return {"CreateAccountStatus": req.describe()}


@rule("ListCreateAccountStatus")
def _list_create_account_status(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """ListCreateAccountStatus: "Lists the account creation requests that match the specified
    status" -- States: "A list of one or more states that you want included in the response. If
    this parameter isn't present, all requests are included in the response."  Answered from the
    middleware's own request records (moto lists the management account, which was never a
    CreateAccount request, and only SUCCEEDED states)."""
    _require_org(ctx.backend)
    states = ctx.params.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    matching = [
        r.describe() for r in mw.create_requests.values() if r.backend_key == ctx.backend_key and r.state in states
    ]
    try:
        start = int(ctx.params.get("NextToken") or 0)
        max_results = int(ctx.params.get("MaxResults") or 20)
    except ValueError:
        raise _invalid("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken.") from None
    page = matching[start : start + max_results]
    out: dict[str, Any] = {"CreateAccountStatuses": page}
    if start + max_results < len(matching):
        out["NextToken"] = str(start + max_results)
    return out


@rule("CloseAccount")
def _close_account(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """CloseAccount: "This is an asynchronous request [...] While the close account request is in
    progress, Account status will indicate PENDING_CLOSURE. When the close account request
    completes, the status will change to SUSPENDED."  (moto suspends immediately.)  The account's
    Status and State are PENDING_CLOSURE for ``close_account_delay`` seconds, then SUSPENDED.

    * already closed (PENDING_CLOSURE or SUSPENDED) -> AccountAlreadyClosedException ("You
      attempted to close an account that is already closed.");
    * the management account -> ConstraintViolationException CANNOT_CLOSE_MANAGEMENT_ACCOUNT ("You
      attempted to close the management account."; "You can't close the management account with
      this API."); moto closes it;
    * unknown account -> AccountNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    account_id = str(ctx.params.get("AccountId", ""))
    account = _find_account(backend, account_id)
    if account is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    if account_id == backend.org.master_account_id:
        raise _constraint(
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You attempted to close the management account. To close the management account for the "
            "organization, you must first either remove or close all member accounts in the organization.",
        )
    if account.status in ("PENDING_CLOSURE", "SUSPENDED"):
        raise OrganizationsError(
            "AccountAlreadyClosedException", "You attempted to close an account that is already closed."
        )
    account.status = "PENDING_CLOSURE"
    account.state = "PENDING_CLOSURE"
    mw.pending_closures[(ctx.backend_key, account_id)] = time.time() + mw.close_account_delay
    return {}


@rule("RemoveAccountFromOrganization")
def _remove_account(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """RemoveAccountFromOrganization of the management account -> MasterCannotLeaveOrganization-
    Exception: "You can't remove a management account from an organization. If you want the
    management account to become a member account in another organization, you must first delete
    the current organization of the management account."  This is the dedicated exception the
    operation documents for exactly that case (the generic ConstraintViolationException reason
    ACCOUNT_CANNOT_LEAVE_ORGANIZATION is shared with LeaveOrganization); moto answers
    AWSOrganizationsNotInUseException.  Unknown account -> AccountNotFoundException (moto:
    AWSOrganizationsNotInUseException).
    """
    backend = ctx.backend
    _require_org(backend)
    account_id = str(ctx.params.get("AccountId", ""))
    if account_id == backend.org.master_account_id:
        raise OrganizationsError(
            "MasterCannotLeaveOrganizationException",
            "You can't remove a management account from an organization. If you want the management "
            "account to become a member account in another organization, you must first delete the "
            "current organization of the management account.",
        )
    if _find_account(backend, account_id) is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    for key in [k for k in mw.pending_closures if k == (ctx.backend_key, account_id)]:
        del mw.pending_closures[key]
    return None


# --------------------------------------------------------------------------------------------------
# C. Policies


def _check_policy_name(backend: Any, name: Any, policy_type: str, exclude: FakePolicy | None = None) -> None:
    """DuplicatePolicyException: "A policy with the same name already exists." -- names are unique
    per policy type (moto compares across all types, refusing an RCP named like an SCP)."""
    _check_max_length(name, NAME_MAX)
    if any(p is not exclude and p.type == policy_type and p.name == name for p in backend.policies):
        raise OrganizationsError("DuplicatePolicyException", "A policy with the same name already exists.")


def _check_not_managed(policy: FakePolicy) -> None:
    """InvalidInputException IMMUTABLE_POLICY: "You specified a policy that is managed by Amazon
    Web Services and can't be modified." (moto lets FullAWSAccess be edited and deleted)."""
    if policy.aws_managed:
        raise _invalid("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")


@rule("CreatePolicy")
def _create_policy(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """CreatePolicy: malformed document -> MalformedPolicyDocumentException; document larger than
    the type's quota -> ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED; name already
    used by a policy of the same type -> DuplicatePolicyException; name > 128 or description > 512
    characters -> InvalidInputException MAX_LENGTH_EXCEEDED.  See :func:`check_policy_document`.

    CreatePolicy does *not* require the type to be enabled in the root (its documented errors do
    not include PolicyTypeNotEnabledException; only AttachPolicy does), so it is not refused.
    Answered here so that names are unique per type rather than across types.
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    policy_type = str(params.get("Type", ""))
    if policy_type not in FakePolicy.SUPPORTED_POLICY_TYPES or policy_type == "BACKUP_POLICY":
        return None  # let moto answer whatever it answers for types it does not model
    _check_max_length(params.get("Description"), DESCRIPTION_MAX)
    _check_policy_name(backend, params.get("Name"), policy_type)
    check_policy_document(policy_type, params.get("Content"))
    policy = FakePolicy(backend.org, **params)
    backend.policies.append(policy)
    return dict(policy.describe())


@rule("UpdatePolicy")
def _update_policy(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """UpdatePolicy: same document and name rules as CreatePolicy (moto checks neither), and AWS
    managed policies are immutable (InvalidInputException IMMUTABLE_POLICY)."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    policy = _require_policy(backend, params.get("PolicyId"))
    _check_not_managed(policy)
    if "Name" in params:
        _check_policy_name(backend, params["Name"], policy.type, exclude=policy)
    _check_max_length(params.get("Description"), DESCRIPTION_MAX)
    if "Content" in params:
        check_policy_document(policy.type, params["Content"])
    return None


@rule("DeletePolicy")
def _delete_policy(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """DeletePolicy of an AWS managed policy -> InvalidInputException IMMUTABLE_POLICY."""
    _require_org(ctx.backend)
    _check_not_managed(_require_policy(ctx.backend, ctx.params.get("PolicyId")))
    return None


@rule("AttachPolicy")
def _attach_policy(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """AttachPolicy.

    * type not enabled in the root -> PolicyTypeNotEnabledException ("The specified policy type
      isn't currently enabled in this root. You can't attach policies of the specified type to
      entities in a root until you enable that type in the root.");
    * already attached -> DuplicatePolicyAttachmentException ("The selected policy is already
      attached to the specified target."); moto silently accepts;
    * a 6th SCP (or RCP) on one target -> ConstraintViolationException
      MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED ("You attempted to exceed the number of policies of
      a certain type that can be attached to an entity at one time.");
    * unknown target -> TargetNotFoundException ("We can't find a root, OU, account, or policy with
      the TargetId that you specified."); moto answers OrganizationalUnitNotFoundException or
      AccountNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    policy = _require_policy(backend, ctx.params.get("PolicyId"))
    target = _require_target(backend, ctx.params.get("TargetId"))
    if policy.type not in _enabled_policy_types(backend):
        raise OrganizationsError(
            "PolicyTypeNotEnabledException",
            "The specified policy type isn't currently enabled in this root. You can't attach policies "
            "of the specified type to entities in a root until you enable that type in the root.",
        )
    if policy in target.attached_policies:
        raise OrganizationsError(
            "DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target."
        )
    limit = MAX_ATTACHMENTS_PER_TYPE.get(policy.type)
    if limit is not None and sum(p.type == policy.type for p in target.attached_policies) >= limit:
        raise _constraint(
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies of a certain type that can be attached to "
            "an entity at one time.",
        )
    _attach(policy, target)
    return {}


@rule("DetachPolicy")
def _detach_policy(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """DetachPolicy.

    * the last SCP of a target -> ConstraintViolationException
      MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED ("Every root, OU, and account must have at least
      one SCP attached. If you want to replace the default FullAWSAccess policy with an SCP that
      limits the permissions that can be delegated, you must attach the replacement SCP before you
      can remove the default SCP."); moto detaches it;
    * RCPFullAWSAccess -> InvalidInputException NON_DETACHABLE_POLICY ("You can't detach this
      Amazon Web Services Managed Policy.");
    * not attached -> PolicyNotAttachedException ("The policy isn't attached to the specified
      target in the specified root."); moto silently accepts;
    * unknown target -> TargetNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    policy = _require_policy(backend, ctx.params.get("PolicyId"))
    target = _require_target(backend, ctx.params.get("TargetId"))
    if policy not in target.attached_policies:
        raise OrganizationsError(
            "PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root."
        )
    if policy.id == DEFAULT_POLICY_FOR_TYPE["RESOURCE_CONTROL_POLICY"]:
        raise _invalid("NON_DETACHABLE_POLICY", "You can't detach this AWS Managed Policy.")
    if (
        policy.type == "SERVICE_CONTROL_POLICY"
        and sum(p.type == "SERVICE_CONTROL_POLICY" for p in target.attached_policies) <= 1
    ):
        raise _constraint(
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would cause the entity to have fewer "
            "than the minimum number of policies of a certain type required.",
        )
    target.attached_policies.remove(policy)
    if target in policy.attachments:
        policy.attachments.remove(target)
    return {}


@post_hook("EnablePolicyType")
def _after_enable_policy_type(mw: StrictOrganizations, ctx: Ctx) -> None:
    """When SCPs (RCPs) are enabled, AWS attaches the AWS managed FullAWSAccess (RCPFullAWSAccess)
    policy to the root, every OU and every account -- DetachPolicy: "If you want to replace the
    default FullAWSAccess policy [...]".  New OUs and accounts get it too (moto attaches it on
    creation; :func:`normalize_policy_attachments` removes it while the type is not enabled)."""
    backend = ctx.backend
    policy_id = DEFAULT_POLICY_FOR_TYPE.get(str(ctx.params.get("PolicyType")))
    policy = _find_policy(backend, policy_id) if policy_id else None
    if policy is None:
        return
    for target in [*backend.ou, *backend.accounts]:
        _attach(policy, target)


# --------------------------------------------------------------------------------------------------
# E. The organization's settings: all features, trusted access, delegated administrators
#
# From botocore's service-2.json (ConstraintViolationException reasons) and the Organizations User
# Guide ("Delegated administrator for AWS services that work with Organizations", "AWS services that
# you can use with AWS Organizations": the "Supports delegated administrator" column).

#: Service principals that support a delegated administrator (the sandbox's own copy: it plays AWS; the operator's
#: is controller/api/limits.py, and tests/sandbox/test_aws_limits.py compares the two).
DELEGATED_ADMIN_PRINCIPALS = frozenset({
    "access-analyzer.amazonaws.com", "account.amazonaws.com", "auditmanager.amazonaws.com",
    "backup.amazonaws.com", "cloudtrail.amazonaws.com", "compute-optimizer.amazonaws.com",
    "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com", "detective.amazonaws.com",
    "devops-guru.amazonaws.com", "fms.amazonaws.com", "guardduty.amazonaws.com", "health.amazonaws.com",
    "inspector2.amazonaws.com", "ipam.amazonaws.com", "license-manager.amazonaws.com", "macie.amazonaws.com",
    "member.org.stacksets.cloudformation.amazonaws.com", "securityhub.amazonaws.com",
    "securitylake.amazonaws.com", "servicecatalog.amazonaws.com", "ssm.amazonaws.com", "sso.amazonaws.com",
    "storage-lens.s3.amazonaws.com",
})


def _require_all_features(backend: Any) -> None:
    """ConstraintViolationException ORGANIZATION_NOT_IN_ALL_FEATURES_MODE: "You attempted to perform
    an operation that requires the organization to be configured to support all features. An
    organization that supports only consolidated billing features can't perform this operation."
    (moto accepts trusted access and delegated administrators in any feature set.)"""
    if backend.org.feature_set != "ALL":
        raise _constraint(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "You attempted to perform an operation that requires the organization to be configured to support "
            "all features. An organization that supports only consolidated billing features can't perform this "
            "operation.",
        )


def _trusted(backend: Any, principal: str) -> bool:
    return any(s.get("ServicePrincipal") == principal for s in backend.services)


@rule("EnableAWSServiceAccess")
def _enable_service_access(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """Trusted access needs all features (see :func:`_require_all_features`); moto does the rest."""
    _require_org(ctx.backend)
    _require_all_features(ctx.backend)
    return None


@rule("RegisterDelegatedAdministrator")
def _register_delegated_administrator(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """RegisterDelegatedAdministrator: "You can run this action only for Amazon Web Services services
    that support this feature" -- any other principal: InvalidInputException
    UNRECOGNIZED_SERVICE_PRINCIPAL ("You specified a service principal that isn't recognized.");
    ConstraintViolationException SERVICE_ACCESS_NOT_ENABLED: "You attempted to register a delegated
    administrator before you enabled service access. Call the EnableAWSServiceAccess API first.";
    CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR for the management account; all features
    required; AccountNotFoundException; AccountAlreadyRegisteredException ("The specified account is
    already a delegated administrator for this Amazon Web Services service.").  Answered here: moto
    knows only six principals and checks none of the order."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    _require_all_features(backend)
    principal = str(params.get("ServicePrincipal", ""))
    account_id = str(params.get("AccountId", ""))
    if principal not in DELEGATED_ADMIN_PRINCIPALS:
        raise _invalid("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized.")
    if account_id == backend.org.master_account_id:
        raise _constraint(
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You attempted to register the management account of the organization as a delegated administrator "
            "for an AWS service integrated with Organizations. You can designate only a member account as a "
            "delegated administrator.",
        )
    account = _find_account(backend, account_id)
    if account is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    if not _trusted(backend, principal):
        raise _constraint(
            "SERVICE_ACCESS_NOT_ENABLED",
            "You attempted to register a delegated administrator before you enabled service access. Call the "
            "EnableAWSServiceAccess API first.",
        )
    admin = next((a for a in backend.admins if a.account.id == account_id), None)
    if admin is None:
        admin = FakeDelegatedAdministrator(account)
        backend.admins.append(admin)
    if principal in admin.services:
        raise OrganizationsError(
            "AccountAlreadyRegisteredException",
            "The specified account is already a delegated administrator for this Amazon Web Services service.",
        )
    admin.services[principal] = {"ServicePrincipal": principal, "DelegationEnabledDate": time.time()}
    return {}


@rule("DeregisterDelegatedAdministrator")
def _deregister_delegated_administrator(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """AccountNotRegisteredException: "The specified account is not a delegated administrator for
    this Amazon Web Services service." (moto answers InvalidInputException when the account
    administers other services)."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    principal = str(params.get("ServicePrincipal", ""))
    account_id = str(params.get("AccountId", ""))
    if _find_account(backend, account_id) is None:
        raise OrganizationsError(
            "AccountNotFoundException",
            "We can't find an Amazon Web Services account with the AccountId that you specified.",
        )
    admin = next((a for a in backend.admins if a.account.id == account_id), None)
    if admin is None or principal not in admin.services:
        raise OrganizationsError(
            "AccountNotRegisteredException",
            "The specified account is not a delegated administrator for this Amazon Web Services service.",
        )
    del admin.services[principal]
    if not admin.services:
        backend.admins.remove(admin)
    return {}


@rule("ListDelegatedAdministrators")
def _list_delegated_administrators(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """Filtered by any principal that supports delegated administration (moto refuses those it does
    not know)."""
    backend = ctx.backend
    _require_org(backend)
    principal = ctx.params.get("ServicePrincipal")
    admins = [a for a in backend.admins if principal is None or principal in a.services]
    return {"DelegatedAdministrators": [a.describe() for a in admins]}


@rule("EnableAllFeatures")
def _enable_all_features(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """EnableAllFeatures (moto 5.2.5 does not implement it): "Calling this operation sends a
    handshake to every invited account in the organization. The feature set change can be finalized
    and the additional features enabled only after all administrators in the invited accounts
    approve the change by accepting the handshake."  Returns the ENABLE_ALL_FEATURES handshake;
    accounts that joined by invitation must approve it (:meth:`StrictOrganizations.
    approve_all_features`, or AcceptHandshake from that account), then the management account gets
    an APPROVE_ALL_FEATURES handshake whose acceptance sets FeatureSet ALL.
    HandshakeConstraintViolationException ORGANIZATION_ALREADY_HAS_ALL_FEATURES ("The handshake
    request is invalid because the organization has already enabled all features.") and
    ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION ("...has already started the process to
    enable all features.")."""
    backend = ctx.backend
    _require_org(backend)
    if backend.org.feature_set == "ALL":
        raise OrganizationsError(
            "HandshakeConstraintViolationException",
            "The handshake request is invalid because the organization has already enabled all features.",
            reason="ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
        )
    if any(h.backend_key == ctx.backend_key and h.state == "OPEN" for h in mw.handshakes.values()):
        raise OrganizationsError(
            "HandshakeConstraintViolationException",
            "The handshake request is invalid because the organization has already started the process to "
            "enable all features.",
            reason="ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
        )
    invited = {a.id for a in backend.accounts
               if getattr(a, "joined_method", "") == "INVITED" and a.id != backend.org.master_account_id}
    hs = Handshake(f"h-{uuid.uuid4().hex[:12]}", "ENABLE_ALL_FEATURES", ctx.backend_key, time.time(),
                   pending=invited)
    mw.handshakes[hs.id] = hs
    answer = {"Handshake": hs.describe()}
    mw._all_features_approved(hs)
    return answer


@rule("ListHandshakesForOrganization")
def _list_handshakes(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    _require_org(ctx.backend)
    action = (ctx.params.get("Filter") or {}).get("ActionType")
    found = [h.describe() for h in mw.handshakes.values()
             if h.backend_key == ctx.backend_key and (action is None or h.action == action)]
    return {"Handshakes": found}


@rule("AcceptHandshake")
def _accept_handshake(mw: StrictOrganizations, ctx: Ctx) -> dict[str, Any] | None:
    """AcceptHandshake: "Only the management account can accept [...] Enable all features final
    confirmation (APPROVE_ALL_FEATURES)"; "Only a member account can accept [...] Approve all
    features request (ENABLE_ALL_FEATURES)".  HandshakeNotFoundException, and
    HandshakeAlreadyInStateException / InvalidHandshakeTransitionException for one not OPEN.
    Accepting APPROVE_ALL_FEATURES sets the organization's FeatureSet to ALL."""
    hs = mw.handshakes.get(str(ctx.params.get("HandshakeId", "")))
    caller = ctx.backend_key[0]
    if hs is None:
        raise OrganizationsError("HandshakeNotFoundException",
                                 "We can't find a handshake with the HandshakeId that you specified.")
    if hs.state == "ACCEPTED":
        raise OrganizationsError("HandshakeAlreadyInStateException",
                                 "The specified handshake is already in the requested state.")
    if hs.state != "OPEN":
        raise OrganizationsError("InvalidHandshakeTransitionException",
                                 "You can't perform the operation on the handshake in its current state.")
    if hs.action == "ENABLE_ALL_FEATURES":
        if caller not in hs.pending:
            raise OrganizationsError("AccessDeniedException", "You don't have permissions to accept this handshake.")
        hs.pending.discard(caller)
        answer = {"Handshake": hs.describe()}
        mw._all_features_approved(hs)
        return answer
    if caller != hs.backend_key[0]:
        raise OrganizationsError("AccessDeniedException", "Only the management account can accept this handshake.")
    backend = organizations_backends[hs.backend_key[0]][hs.backend_key[1]]
    _require_org(backend)
    backend.org.feature_set = "ALL"  # type: ignore[union-attr]
    hs.state = "ACCEPTED"
    return {"Handshake": hs.describe()}


# --------------------------------------------------------------------------------------------------
# D. Account Management API (service ``account``): PutAccountName, GetAccountInformation
#
# From botocore's ``botocore/data/account/2021-02-01/service-2.json``.  Both operations document
# exactly AccessDeniedException (403), ValidationException (400), TooManyRequestsException (429)
# and InternalServerException (500) -- *not* ResourceNotFoundException, which only other
# operations of the service (alternate contacts, primary email, ...) document.  AccountId:
#
#   "If you do not specify this parameter, it defaults to the Amazon Web Services account of the
#   identity used to call the operation.  To use this parameter, the caller must be an identity in
#   the organization's management account or a delegated administrator account, and the specified
#   account ID must be a member account in the same organization.  The organization must have all
#   features enabled, and the organization must have trusted access enabled for the Account
#   Management service [...]  The management account can't specify its own AccountId; it must
#   call the operation in standalone context by not including the AccountId parameter."
#
# A request that breaks one of those conditions is not authorised, so AWS answers
# AccessDeniedException (HTTP 403), e.g. "User: arn:aws:iam::123456789012:user/x is not authorized
# to perform: account:GetContactInformation (The management account can only be managed using the
# standalone context from the management account.)" -- wording observed from AWS and quoted in
# turbot/steampipe-plugin-aws (aws/table_aws_account_contact.go), which also observed the 403 when
# trusted access is not enabled and when a member account passes any AccountId.  moto's delegated
# administrators do not support ``account.amazonaws.com``, so only the management account may pass
# AccountId here.


def _account_validation(message: str, fields: list[dict[str, str]]) -> OrganizationsError:
    """ValidationException: "The operation failed because one of the input parameters was
    invalid." -- with ``reason`` ``fieldValidationFailed`` and the offending ``fieldList``."""
    return OrganizationsError(
        "ValidationException", message, reason="fieldValidationFailed", fields={"fieldList": fields}
    )


def _account_access_denied(
    caller: str, partition: str, operation: str, detail: str | None = None
) -> OrganizationsError:
    message = f"User: arn:{partition}:iam::{caller}:root is not authorized to perform: account:{operation}"
    if detail:
        message += f" ({detail})"
    return OrganizationsError("AccessDeniedException", message, status=403)


def _check_account_api_input(operation: str, params: dict[str, Any]) -> None:
    """The input shape's constraints, which botocore does not check client-side (it only checks
    ``min``): AccountId ``pattern`` ``\\d{12}``; AccountName ``min`` 1, ``max`` 50 and ``pattern``
    ``[ -;=?-~]+`` (printable ASCII except ``<`` and ``>``).  Messages in AWS's
    "1 validation error detected: Value at '...' failed to satisfy constraint: ..." form; the
    (sensitive) name itself is not echoed."""
    problems: list[tuple[str, str]] = []
    account_id = params.get("AccountId")
    if account_id is not None and not (isinstance(account_id, str) and ACCOUNT_API_ID_RE.fullmatch(account_id)):
        problems.append(("AccountId", "Member must satisfy regular expression pattern: \\d{12}"))
    if operation == "PutAccountName":
        name = params.get("AccountName")
        if not isinstance(name, str):
            problems.append(("AccountName", "Member must not be null"))
        elif len(name) < 1:
            problems.append(("AccountName", "Member must have length greater than or equal to 1"))
        elif len(name) > ACCOUNT_API_NAME_MAX:
            problems.append(
                ("AccountName", f"Member must have length less than or equal to {ACCOUNT_API_NAME_MAX}")
            )
        elif not ACCOUNT_API_NAME_RE.fullmatch(name):
            problems.append(("AccountName", "Member must satisfy regular expression pattern: [ -;=?-~]+"))
    if problems:
        count = len(problems)
        detail = "; ".join(
            f"Value at '{field[0].lower()}{field[1:]}' failed to satisfy constraint: {text}" for field, text in problems
        )
        raise _account_validation(
            f"{count} validation error{'s' if count > 1 else ''} detected: {detail}",
            [{"name": field, "message": text} for field, text in problems],
        )


def _account_api_target(operation: str, params: dict[str, Any], caller: str, partition: str) -> FakeAccount | None:
    """The account the request is about, or None for a caller in no organization that names no
    AccountId (its own, standalone account, of which moto has no account object).

    Without AccountId: the caller's own account -- the management account (allowed: "it must call
    the operation in standalone context by not including the AccountId parameter") or a member
    account calling for itself.  With AccountId: the caller must be the management account of an
    organization with all features and trusted access for ``account.amazonaws.com``, and the
    account a member of that organization other than the management account itself; otherwise
    AccessDeniedException (403)."""
    backend = organizations_backends[caller][partition]
    account_id = params.get("AccountId")
    if account_id is None:
        if backend.org is not None:
            return _find_account(backend, caller)
        link = organizations_backends.master_accounts.get(caller)
        if link is not None:
            return _find_account(organizations_backends[link[0]][link[1]], caller)
        return None
    if backend.org is None:
        raise _account_access_denied(caller, partition, operation)
    if account_id == caller:
        raise _account_access_denied(
            caller,
            partition,
            operation,
            "The management account can only be managed using the standalone context from the management account.",
        )
    if backend.org.feature_set != "ALL" or not any(
        s.get("ServicePrincipal") == ACCOUNT_SERVICE_PRINCIPAL for s in backend.services
    ):
        raise _account_access_denied(caller, partition, operation)
    account = _find_account(backend, str(account_id))
    if account is None:
        raise _account_access_denied(caller, partition, operation)
    return account


def _put_account_name(mw: StrictOrganizations, params: dict[str, Any], caller: str, partition: str) -> None:
    """PutAccountName: "Updates the account name of the specified account."  Renames moto's
    account object, so Organizations' ListAccounts, ListAccountsForParent and DescribeAccount
    return the new name from the next request on.  The AWS Organizations limit of 128 characters
    (CreateAccount) does not apply: this API allows 50."""
    _check_account_api_input("PutAccountName", params)
    account = _account_api_target("PutAccountName", params, caller, partition)
    name = str(params["AccountName"])
    if account is None:
        mw.standalone_account_names[(caller, partition)] = name
    else:
        account.name = name
    return None


def _get_account_information(
    mw: StrictOrganizations, params: dict[str, Any], caller: str, partition: str
) -> dict[str, Any]:
    """GetAccountInformation: "Retrieves information about the specified account including its
    account name, account ID, account creation date and time, and account state."  AccountState
    is one of PENDING_ACTIVATION | ACTIVE | SUSPENDED | CLOSED: Organizations' PENDING_CLOSURE
    (not in that list; the account is still usable until it is suspended) is reported as ACTIVE.
    AccountCreatedDate is an ISO 8601 timestamp (the output shape's ``timestampFormat``)."""
    _check_account_api_input("GetAccountInformation", params)
    account = _account_api_target("GetAccountInformation", params, caller, partition)
    if account is None:
        out: dict[str, Any] = {"AccountId": caller, "AccountState": "ACTIVE"}
        name = mw.standalone_account_names.get((caller, partition))
        if name is not None:
            out["AccountName"] = name
        return out
    state = str(account.state or account.status or "ACTIVE")
    return {
        "AccountId": account.id,
        "AccountName": account.name,
        "AccountCreatedDate": account.create_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "AccountState": "ACTIVE" if state == "PENDING_CLOSURE" else state,
    }


AccountApiHandler = Callable[[StrictOrganizations, "dict[str, Any]", str, str], "dict[str, Any] | None"]

_ACCOUNT_API_HANDLERS: dict[str, AccountApiHandler] = {
    "PutAccountName": _put_account_name,
    "GetAccountInformation": _get_account_information,
}
