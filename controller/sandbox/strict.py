"""A strict AWS Organizations layer in front of moto's WSGI application.

moto 5.2.5 implements the Organizations API but accepts many requests that real AWS refuses
(duplicate OU names, deleting non-empty OUs, detaching the last SCP, ...) and performs
asynchronous operations (CreateAccount, CloseAccount) synchronously.  :class:`StrictOrganizations`
is a WSGI middleware that sits in front of moto's ``DomainDispatcherApplication``:

* every request is recorded in a call log (operation names, thread-safe);
* errors injected with :meth:`StrictOrganizations.inject_error` are answered first;
* for Organizations requests (JSON protocol, ``X-Amz-Target: AWSOrganizationsV20161128.<Op>``)
  the operation's *checks* and *rule* (registered in :mod:`controller.sandbox.organizations.base`, written by what
  they play in :mod:`~controller.sandbox.organizations.units`, :mod:`~controller.sandbox.organizations.accounts`,
  :mod:`~controller.sandbox.organizations.policies`, :mod:`~controller.sandbox.organizations.settings` and
  :mod:`controller.sandbox.aws_limits`) check the request against moto's in-process backend state
  (``moto.organizations.models.organizations_backends[account_id][partition]``) and either
  refuse it with the exact AWS error shape (HTTP 400,
  ``{"__type": ..., "Message": ..., "Reason": ...}``), answer it themselves (where moto's
  behaviour is wrong, e.g. asynchronous account creation), or let moto handle it;
* after moto handled a request, *post-hooks* fix up moto's state where it diverges from AWS
  (policy attachments of policy types that are not enabled);
* the two Account Management API operations the operator uses, PutAccountName and
  GetAccountInformation (REST-JSON, ``POST /putAccountName`` / ``POST /getAccountInformation``
  signed for ``account``; moto 5.2.5 does not implement that service), are answered entirely by
  :mod:`controller.sandbox.account_api` from moto's Organizations state; their errors have the REST-JSON
  shape: HTTP status, ``x-amzn-ErrorType: <Code>`` and ``{"message": ...}``;
* every request made with a member account's credentials is first authorized against the SCPs (and, for a
  member account's S3 and STS resources, the RCPs) on the account's path, as AWS does: :mod:`~controller.sandbox.scp`;
* other services' refusals come from :mod:`~controller.sandbox.sts`, :mod:`~controller.sandbox.iam` and
  :mod:`~controller.sandbox.logging_services`.

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

from moto.organizations.models import organizations_backends

from controller.sandbox import cloudtrail, delivery, iam, logging_services, root_access, scp, sts
from controller.sandbox.account_api import (
    ACCOUNT_API_HANDLERS,
    ACCOUNT_API_PATHS,
    _account_validation,
)
from controller.sandbox.organizations import (  # noqa: F401 (registers their rules)
    accounts,
    invitations,
    management,
    policies,
    settings,
    units,
)
from controller.sandbox.organizations.base import (
    CHECKS,
    CREATE_ACCOUNT_OUTCOMES,
    POST_HOOKS,
    RULES,
    CreateAccountRequest,
    Ctx,
    Handshake,
    OrganizationsError,
    _find_account,
    normalize_policy_attachments,
)
from controller.sandbox.propagation import Propagation
from controller.sandbox.throttle import Refused, Traffic

ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
REST_JSON_CONTENT_TYPE = "application/json"

#: How long after a write's answer its CloudTrail record reaches the EventBridge rules' queues.
EVENT_DELIVERY_SECONDS = 0.1
ACCESS_KEY_RE = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]+/([^/]+)/")
SIGNING_SERVICE_RE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/")


@dataclass
class InjectedError:
    code: str
    message: str
    remaining: int
    reason: str | None = None
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)



# --------------------------------------------------------------------------------------------------
# The middleware


class StrictOrganizations:
    """WSGI middleware: call log, fault injection and AWS rules in front of moto's application."""

    def __init__(self, app: Any, *, create_account_delay: float = 0.0, close_account_delay: float = 0.0,
                 member_role_delay: float = 0.0):
        self.app = app
        self.member_role_delay = member_role_delay  # see controller.sandbox.sts: a new account's role, assumable later
        self.propagation = Propagation()  # IAM and S3 policy changes seen late by STS, CloudTrail, Config
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
        #: handshake id -> the all-features handshakes (moto 5.2.5 has none): organizations/settings.py
        self.handshakes: dict[str, Handshake] = {}
        #: account id -> {"email", "name"}: AWS accounts outside any organization, to be invited
        self.standalone_accounts: dict[str, dict[str, str]] = {}

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
            root_access.reset()
            self.standalone_accounts.clear()
        self.clear_injected_errors()
        self.reset_calls()
        self.traffic.reset()
        self.propagation.reset()

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
            invitations.expire_due(self, now)

    # -- invitations: what the invited account's owner does (organizations/invitations.py) -------------

    def standalone_account(self, email: str, name: str = "") -> str:
        """A new AWS account outside any organization (its email taken across AWS); its id."""
        account_id = f"{uuid.uuid4().int % 10**12:012d}"
        with self.lock:
            self.standalone_accounts[account_id] = {"email": email, "name": name or email.partition("@")[0]}
            self.external_emails.add(email.lower())
        return account_id

    def _invitation_to(self, account_id: str) -> Handshake:
        found = [h for h in self.handshakes.values() if h.action == "INVITE" and h.target == account_id
                 and h.state in invitations.OPEN_STATES]
        if not found:
            raise KeyError(f"no open invitation to account {account_id}")
        return found[0]

    def answer_invitation(self, account_id: str, *, accept: bool) -> None:
        """The invited account's owner accepts (the account joins, with no OrganizationAccountAccessRole) or
        declines the open invitation, as AcceptHandshake/DeclineHandshake from that account."""
        with self.lock:
            hs = self._invitation_to(account_id)
            if accept:
                invitations.join(self, hs)
            else:
                invitations.end(hs, "DECLINED")

    def expire_invitation(self, account_id: str) -> None:
        """The 15 days have passed: the open invitation to the account is EXPIRED."""
        with self.lock:
            hs = self._invitation_to(account_id)
            hs.expires = time.time()
            invitations.expire_due(self, time.time())

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
                denied_by_policy = scp.refusal(environ, body)
                if denied_by_policy is not None:
                    start_response(denied_by_policy[0], denied_by_policy[1])
                    return [denied_by_policy[2]]
                return self._handle_account_api(environ, start_response, account_operation, body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = _operation_name(environ, target, body)
        if operation is not None:
            with self._log_lock:
                self._calls.append(operation)
            injected = self._take_injected(operation)
            if injected is not None:
                return _error_response(start_response, injected)
        with self.lock:  # the SCPs and RCPs on the caller's (and the resource's) path: controller.sandbox.scp
            denied_by_policy = scp.refusal(environ, body)
        if denied_by_policy is not None:
            start_response(denied_by_policy[0], denied_by_policy[1])
            return [denied_by_policy[2]]
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
        if operation in root_access.OPERATIONS and not target:  # moto lacks them: controller.sandbox.root_access
            with self.lock:
                status, xml = root_access.answer(operation, _caller(environ)[0])
            start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))])
            return [xml]
        if operation in iam.OPERATIONS and not target:
            refused = iam.before(operation, body, _caller(environ)[0])
            if refused is not None:
                start_response(refused[0], [("Content-Type", "text/xml"), ("Content-Length", str(len(refused[1])))])
                return [refused[1]]
        if target and not target.startswith(ORGANIZATIONS_TARGET_PREFIX):
            match = ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
            with self.lock:  # CloudTrail and Config rules read Organizations' state: logging_services.py
                denied = logging_services.refusal(target, body, _caller(environ)[0],
                                                  match.group(2) if match else "us-east-1", self.propagation)
            if denied is not None:
                data = denied.body()
                start_response("400 Bad Request", _headers(len(data)))
                return [data]
            if target in delivery.TARGETS:  # what CloudTrail and Config report of their deliveries: delivery.py
                with self.lock:
                    status, headers, data = delivery.answer(
                        target, body, _caller(environ)[0], match.group(2) if match else "us-east-1",
                        self.propagation, lambda: _answer_of(self.app, environ))
                start_response(status, headers)
                return [data]
        if not target.startswith(ORGANIZATIONS_TARGET_PREFIX) or operation is None:
            return self.propagation.forward(self.app, environ, start_response, None if target else operation, body,
                                            _caller(environ)[0])
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
        if not cloudtrail.management_events_logged(account_id):
            return  # no trail records the call: CloudTrail hands nothing to EventBridge (cloudtrail.py)
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

        check = RULES.get(operation)
        try:
            answer = None
            for first in CHECKS.get(operation, ()):
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
            hook = POST_HOOKS.get(operation)
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
            answer = ACCOUNT_API_HANDLERS[operation](self, params, account_id, partition)
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
        for outcome in CREATE_ACCOUNT_OUTCOMES:
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


def _answer_of(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> delivery.Answer:
    """moto's whole answer to a request: (status line, headers, body)."""
    answered: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered.update(status=status, headers=headers)

    data = b"".join(app(environ, capture))
    return str(answered.get("status", "500 Internal Server Error")), list(answered.get("headers", [])), data


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

