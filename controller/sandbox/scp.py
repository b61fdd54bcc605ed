"""Service control policies and resource control policies as AWS applies them to every call, which moto never does.

In AWS every request made with credentials of a member account is authorized against the SCPs attached on that
account's path (root -> OUs -> the account), and every request on a resource of a member account in a service RCPs
cover against the RCPs on the resource account's path. moto evaluates neither, so a baseline a region guardrail
would deny reads as compliant in the sandbox and fails in AWS. The sandbox evaluates them before moto answers
(:func:`refusal`, called by :class:`controller.sandbox.strict.StrictOrganizations` for every request). This is the
sandbox's own evaluator: it imports nothing of the operator (import-linter), so one bug cannot cancel the other.

The rules it plays, each from AWS's pages:

* Allow at every level. AWS Organizations user guide, "SCP evaluation" ("How SCPs work with Allow"): "For a
  permission to be allowed for a specific account, there must be an explicit Allow statement at every level from
  the root through each OU in the direct path to the account (including the target account itself)" and "SCP
  evaluation follows a deny-by-default model, meaning that any permissions not explicitly allowed in the SCPs are
  denied." ("How SCPs work with Deny"): "a Deny statement at any level ... denies the action." RCP evaluation
  is the same model (user guide, "RCP evaluation"), with ``RCPFullAWSAccess`` in place of ``FullAWSAccess``.
* Who is not subject. "SCPs don't affect users or roles in the management account. They affect only the member
  accounts in your organization", and "SCPs do not affect any service-linked role" (user guide, "Service control
  policies (SCPs)", "Tasks and entities not restricted by SCPs"). "RCPs don't affect resources in the management
  account" and do not restrict service-linked roles (user guide, "Resource control policies (RCPs)"). RCPs apply
  to the services that support them; of those the operator reaches S3 and STS (the list in the RCP page:
  Amazon S3, AWS STS, AWS KMS, Amazon SQS, AWS Secrets Manager, ...).
* Conditions. IAM user guide, "IAM JSON policy elements: Condition operators": "If the key that you specify in a
  policy condition is not present in the request context, the values do not match and the condition is false. If
  the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right
  key is not present, the condition is true. This logic applies to all condition operators except ...IfExists and
  Null check." ``ForAnyValue``: true when at least one request value matches (false when the key is absent);
  ``ForAllValues``: true when every request value matches (true when the key is absent or empty) ("Set operators
  for multivalued context keys"). Several values for one key: any of them (negated operators: none of them);
  several keys or operators: all of them. ``ArnEquals``/``ArnLike``: "Each of the six colon-delimited components
  of the ARN is checked separately and each can include multi-character match wildcards (*) or single-character
  match wildcards (?)". An operator the sandbox does not evaluate makes its statement not apply (said in the
  table tests, tests/sandbox/test_aws_scp.py).
* The answer. IAM user guide, "Troubleshoot access denied error messages": "When a policy explicitly denies access
  because the policy contains a Deny statement, then AWS includes the phrase with an explicit deny in a type policy
  ... When the policy implicitly denies access, then AWS includes the phrase because no type policy allows the
  action action", and since 2025 the denying policy's ARN in same-organization requests (AWS Security Blog,
  "Enhanced access denied error messages with policy ARNs": "... on resource: arn:aws:iam::123456789012:role/* with
  an explicit deny in a service control policy: arn:aws:organizations::987654321098:policy/o-qv5af4abcd/
  service_control_policy/p-2kgnabcd"). The error shape is each protocol's: 403 ``AccessDenied`` for IAM and STS
  (query XML) and S3 (REST XML); 400 ``AccessDeniedException`` for the JSON services (CloudTrail, Config, ...).

The request context the sandbox builds: ``aws:RequestedRegion`` (the region the request is signed for; IAM's is
us-east-1), ``aws:PrincipalArn`` (an assumed role's session is known by its role's ARN), ``aws:PrincipalAccount``,
``aws:PrincipalOrgID``, ``aws:PrincipalType``, ``aws:PrincipalIsAWSService`` ("false"), ``aws:SecureTransport``
("true", as the SDK's HTTPS endpoints would), ``aws:ResourceAccount`` where known; ``aws:SourceAccount`` is only
in service-to-service requests, which the sandbox's callers never make, so it is absent (``Null`` says so).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
#: Services whose resources RCPs govern and that the sandbox's callers reach (RCP user guide's list).
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager"})
_WORDS = {SCP: "service control policy", RCP: "resource control policy"}
_JSON_SERVICES_CODE = "AccessDeniedException"
_SIGNING = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]+/([^/]+)/([^/]+)/")
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Request:
    """What an authorization decision looks at."""

    action: str  # "iam:CreateRole"
    resource: str  # its ARN, or "*" when the sandbox does not name it
    principal_account: str
    principal_arn: str  # aws:PrincipalArn: the role's ARN for an assumed-role session
    caller_arn: str  # the ARN AWS names in the message: the session's for an assumed role
    context: dict[str, list[str]] = field(default_factory=dict)
    resource_account: str | None = None

    def value(self, key: str) -> list[str] | None:
        low = key.lower()
        return next((v for k, v in self.context.items() if k.lower() == low), None)


@dataclass(frozen=True)
class Denial:
    policy_type: str  # SCP or RCP
    explicit: bool
    policy_id: str | None  # the denying policy (explicit denies)
    policy_arn: str | None

    def message(self, request: Request) -> str:
        words = _WORDS[self.policy_type]
        head = f"User: {request.caller_arn} is not authorized to perform: {request.action}"
        if request.resource != "*":
            head += f" on resource: {request.resource}"
        if self.explicit:
            return f"{head} with an explicit deny in a {words}" + (f": {self.policy_arn}" if self.policy_arn else "")
        return f"{head} because no {words} allows the {request.action} action"


# ------------------------------------------------------------------------------------------ the evaluation


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wild(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE | re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    want, got = pattern.split(":", 5), value.split(":", 5)
    return len(want) == len(got) == 6 and all(_wild(w, g) for w, g in zip(want, got, strict=True))


def _substitute(text: str, request: Request) -> str:
    """Policy variables (``${aws:PrincipalAccount}``; ``${*}``, ``${?}``, ``${$}`` stand for the character)."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        found = request.value(name.split(",", 1)[0].strip())
        return found[0] if found else match.group(0)
    return _VARIABLE.sub(one, text)


def _single(op: str, wanted: Sequence[str], actual: str) -> bool | None:
    """Whether one request value satisfies the (non-negated) operator; None for an operator not evaluated."""
    if op in ("StringEquals", "StringNotEquals"):
        return actual in wanted
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() in [w.lower() for w in wanted]
    if op in ("StringLike", "StringNotLike"):
        return any(_wild(w, actual) for w in wanted)
    if op in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return any(_arn_like(w, actual) for w in wanted)
    if op == "Bool":
        return actual.lower() in [w.lower() for w in wanted]
    if op.startswith("Numeric"):
        try:
            a, ws = float(actual), [float(w) for w in wanted]
        except ValueError:
            return False
        compare = {"NumericEquals": a.__eq__, "NumericNotEquals": a.__eq__, "NumericLessThan": a.__lt__,
                   "NumericLessThanEquals": a.__le__, "NumericGreaterThan": a.__gt__,
                   "NumericGreaterThanEquals": a.__ge__}.get(op)
        return None if compare is None else any(compare(w) for w in ws)
    return None


_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
                      "NumericNotEquals"})


def _operator_holds(operator: str, key: str, wanted_raw: Any, request: Request) -> bool | None:
    quantifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    wanted = [_substitute(str(w).lower() if isinstance(w, bool) else str(w), request) for w in _as_list(wanted_raw)]
    actual = request.value(key)
    if op == "Null":  # "true": the key is absent; "false": it is present
        absent = not actual
        return any((w.lower() == "true") == absent for w in wanted)
    negated = op in _NEGATED
    if quantifier == "ForAnyValue":
        if not actual:
            return False
        results = [_single(op, wanted, a) for a in actual]
        if any(r is None for r in results):
            return None
        return any((not r) if negated else r for r in results)
    if quantifier == "ForAllValues":
        if not actual:
            return True
        results = [_single(op, wanted, a) for a in actual]
        if any(r is None for r in results):
            return None
        return all((not r) if negated else r for r in results)
    if quantifier:
        return None
    if not actual:
        return bool(if_exists or negated)
    result = _single(op, wanted, actual[0])
    if result is None:
        return None
    return (not result) if negated else result


def _conditions_hold(condition: Any, request: Request) -> bool:
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            return False
        for key, wanted in pairs.items():
            if _operator_holds(str(operator), str(key), wanted, request) is not True:
                return False  # not holding, or not evaluated by the sandbox: the statement does not apply
    return True


def statement_applies(stmt: Mapping[str, Any], request: Request) -> bool:
    """Whether a statement matches the request: its action, resource, principal (RCPs) and conditions."""
    if "Action" in stmt:
        if not any(_wild(str(a), request.action, case=False) for a in _as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(_wild(str(a), request.action, case=False) for a in _as_list(stmt["NotAction"])):
            return False
    else:
        return False
    if "Resource" in stmt:
        resources = [_substitute(str(r), request) for r in _as_list(stmt["Resource"])]
        if not any(r == "*" or (request.resource != "*" and _wild(r, request.resource)) for r in resources):
            return False
    elif "NotResource" in stmt:
        resources = [_substitute(str(r), request) for r in _as_list(stmt["NotResource"])]
        if any(r == "*" or (request.resource != "*" and _wild(r, request.resource)) for r in resources):
            return False
    principal = stmt.get("Principal")
    if principal is not None and principal != "*":
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        if "*" not in [str(p) for p in _as_list(aws)]:
            return False  # RCPs allow only "Principal": "*" (their syntax page)
    return _conditions_hold(stmt.get("Condition"), request)


def _statements(content: Any) -> list[dict[str, Any]]:
    try:
        document = json.loads(content) if isinstance(content, str) else content
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    return [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]


@dataclass(frozen=True)
class Attached:
    """A policy attached at one level, as the evaluation needs it."""

    id: str
    arn: str | None
    content: Any


def evaluate(policy_type: str, levels: Sequence[Sequence[Attached]], request: Request) -> Denial | None:
    """The decision of one policy type over the path's levels (root first): None when allowed."""
    for level in levels:
        for policy in level:
            if any(s.get("Effect") == "Deny" and statement_applies(s, request) for s in _statements(policy.content)):
                return Denial(policy_type, True, policy.id, policy.arn)
    for level in levels:
        if not any(s.get("Effect") == "Allow" and statement_applies(s, request)
                   for policy in level for s in _statements(policy.content)):
            return Denial(policy_type, False, None, None)
    return None


# ------------------------------------------------------------------------------------------ moto's state


def _organization_of(account_id: str) -> tuple[Any, str] | None:
    """(the moto Organizations backend, the management account) of an organization the account is a *member* of."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is None or owner[0] == account_id:
        return None  # not a member account (the management account is never subject)
    backend = organizations_backends[owner[0]][owner[1]]
    if backend.org is None or not any(a.id == account_id for a in backend.accounts):
        return None
    return backend, owner[0]


def _path(backend: Any, account_id: str, policy_type: str) -> list[list[Attached]] | None:
    """The policies of ``policy_type`` attached at each level root -> OUs -> account; None when the type is not
    enabled in the root (nothing of that type applies)."""
    from moto.organizations.models import FakeRoot

    root = next((ou for ou in backend.ou if isinstance(ou, FakeRoot)), None)
    if root is None or not any(t.get("Type") == policy_type and t.get("Status") == "ENABLED"
                               for t in root.policy_types):
        return None
    account = next(a for a in backend.accounts if a.id == account_id)
    chain: list[Any] = [account]
    parent_id = str(account.parent_id)
    while True:
        node = next((ou for ou in backend.ou if ou.id == parent_id), None)
        if node is None:
            break
        chain.append(node)
        if isinstance(node, FakeRoot):
            break
        parent_id = str(node.parent_id)
    levels: list[list[Attached]] = []
    for node in reversed(chain):
        attached = [p for p in backend.policies if p.type == policy_type and node in p.attachments]
        levels.append([Attached(str(p.id), _policy_arn(p), p.content) for p in attached])
    return levels


def _policy_arn(policy: Any) -> str | None:
    try:
        return str(policy.arn)
    except Exception:  # moto has no ARN format for some policy types
        return None


def _principal(access_key: str) -> tuple[str, str, str]:
    """(account, aws:PrincipalArn, the caller's ARN) of an access key."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        key = account["aws"].access_keys.get(access_key)
        if key is None:
            continue
        role_arn = getattr(key, "role_arn", None)
        if role_arn:
            session = next((r.session_name for r in sts_backends[account_id]["aws"].assumed_roles
                            if r.access_key_id == access_key), "session")
            role_name = str(role_arn).rsplit("/", 1)[-1]
            return account_id, str(role_arn), f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session}"
        user = getattr(key, "user_name", None)
        arn = f"arn:aws:iam::{account_id}:user/{user}" if user else f"arn:aws:iam::{account_id}:root"
        return account_id, arn, arn
    # Not a key moto issued (the sandbox's management credentials, "testing"): moto takes it for its default
    # account, and so does the sandbox, known by that account's root (it names no user).
    from moto.iam.models import get_account_id_from

    account_id = str(get_account_id_from(access_key))
    return account_id, f"arn:aws:iam::{account_id}:root", f"arn:aws:iam::{account_id}:root"


def _service_linked(principal_arn: str) -> bool:
    """Service-linked roles live under the path ``/aws-service-role/`` (IAM user guide, "Service-linked roles")."""
    return ":role/aws-service-role/" in principal_arn


# ------------------------------------------------------------------------------------------ the request


_S3_SUBRESOURCES = {
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "acl": ("GetBucketAcl", "PutBucketAcl", "PutBucketAcl"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", "PutBucketVersioning"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "location": ("GetBucketLocation", "GetBucketLocation", "GetBucketLocation"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "logging": ("GetBucketLogging", "PutBucketLogging", "PutBucketLogging"),
    "notification": ("GetBucketNotification", "PutBucketNotification", "PutBucketNotification"),
}


def _s3_action(method: str, path: str, query: str) -> tuple[str, str, str]:
    """(the IAM action, the resource ARN, the bucket) of an S3 REST request (path-style addressing), as the
    Service Authorization Reference ("Actions defined by Amazon S3") names the permission each operation needs."""
    bucket, _, key = path.lstrip("/").partition("/")
    params = parse_qs(query, keep_blank_values=True)
    if not bucket:
        return "s3:ListAllMyBuckets", "*", ""
    arn = f"arn:aws:s3:::{bucket}" + (f"/{unquote(key)}" if key else "")
    for sub, (read, write, delete) in _S3_SUBRESOURCES.items():
        if sub in params:
            return f"s3:{ {'GET': read, 'HEAD': read, 'DELETE': delete}.get(method, write) }", arn, bucket
    if key:
        return {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "DELETE": "s3:DeleteObject"}.get(
            method, "s3:PutObject"), arn, bucket
    return {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket"), arn, bucket


def _query_param(body: bytes, query: str, name: str) -> str | None:
    found = parse_qs(query).get(name) or parse_qs(body.decode("utf-8", "replace")).get(name)
    return found[0] if found else None


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _resource(service: str, operation: str, body: bytes, query: str, account: str) -> tuple[str, str | None]:
    """(the resource ARN the call acts on, its account) for the operations the operator makes; ("*", None) else."""
    if service == "iam":
        role = _query_param(body, query, "RoleName")
        if role:
            return f"arn:aws:iam::{account}:role/{role}", account
        return "*", None
    if service == "sts" and operation == "AssumeRole":
        arn = _query_param(body, query, "RoleArn") or "*"
        parts = arn.split(":")
        return arn, (parts[4] if len(parts) > 5 and parts[4] else None)
    return "*", None


def request_of(environ: Mapping[str, Any], body: bytes) -> tuple[Request, str] | None:
    """The authorization request a WSGI request makes, and its protocol ("query", "json", "rest-xml",
    "rest-json"); None for what carries no credentials the sandbox knows (moto's own API, unsigned requests)."""
    if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
        return None
    match = _SIGNING.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if match is None:
        return None
    access_key, region, service = match.groups()
    account, principal_arn, caller_arn = _principal(access_key)
    method = str(environ.get("REQUEST_METHOD", "")).upper()
    path, query = str(environ.get("PATH_INFO", "")), str(environ.get("QUERY_STRING", ""))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    resource, resource_account = "*", None
    if target:
        action, protocol = f"{service}:{target.rsplit('.', 1)[-1]}", "json"
    elif service == "s3":
        action, resource, bucket = _s3_action(method, path, query)
        protocol = "rest-xml"
        resource_account = _bucket_owner(bucket)
    elif service == "account":
        action, protocol = f"account:{path.strip('/')[:1].upper()}{path.strip('/')[1:]}", "rest-json"
    else:
        operation = _query_param(body, query, "Action")
        if operation is None:
            return None
        action, protocol = f"{service}:{operation}", "query"
        resource, resource_account = _resource(service, operation, body, query, account)
    context: dict[str, list[str]] = {
        "aws:RequestedRegion": [region], "aws:PrincipalArn": [principal_arn], "aws:PrincipalAccount": [account],
        "aws:PrincipalType": ["AssumedRole" if ":assumed-role/" in caller_arn else
                              "User" if ":user/" in caller_arn else "Account"],
        "aws:PrincipalIsAWSService": ["false"], "aws:SecureTransport": ["true"], "aws:ViaAWSService": ["false"],
    }
    org = _organization_of(account)
    if org is not None or _is_management(account):
        org_id = _org_id(account)
        if org_id:
            context["aws:PrincipalOrgID"] = [org_id]
    if resource_account:
        context["aws:ResourceAccount"] = [resource_account]
    return Request(action, resource, account, principal_arn, caller_arn, context, resource_account), protocol


def _is_management(account: str) -> bool:
    from moto.organizations.models import organizations_backends

    return any(backend.org is not None and backend.org.master_account_id == account
               for partitions in list(organizations_backends.values()) for backend in list(partitions.values()))


def _org_id(account: str) -> str | None:
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account)
    management, partition = owner if owner else (account, "aws")
    backend = organizations_backends[management][partition]
    return str(backend.org.id) if backend.org is not None else None


def _bucket_owner(bucket: str) -> str | None:
    if not bucket:
        return None
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    return str(owner[1]) if owner else None


def decide(request: Request) -> Denial | None:
    """SCPs of the principal's account, then RCPs of the resource's account (where they apply)."""
    if _service_linked(request.principal_arn):
        return None
    org = _organization_of(request.principal_account)
    if org is not None:
        levels = _path(org[0], request.principal_account, SCP)
        if levels is not None:
            denied = evaluate(SCP, levels, request)
            if denied is not None:
                return denied
    service = request.action.split(":", 1)[0]
    if request.resource_account and service in RCP_SERVICES:
        org = _organization_of(request.resource_account)
        if org is not None:
            levels = _path(org[0], request.resource_account, RCP)
            if levels is not None:
                return evaluate(RCP, levels, request)
    return None


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer(denial: Denial, request: Request, protocol: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status, headers, body) of the refusal in the protocol's own error shape."""
    message = denial.message(request)
    request_id = str(uuid.uuid4())
    if protocol == "query":
        namespace = ("https://sts.amazonaws.com/doc/2011-06-15/" if request.action.startswith("sts:")
                     else "https://iam.amazonaws.com/doc/2010-05-08/")
        data = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
                f"<Message>{_xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        return "403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))], data
    if protocol == "rest-xml":
        data = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                f"<Message>{_xml_escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        return "403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(data)))], data
    if protocol == "rest-json":
        data = json.dumps({"message": message}).encode()
        return "403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                 ("x-amzn-ErrorType", _JSON_SERVICES_CODE), ("x-amzn-RequestId", request_id)], data
    data = json.dumps({"__type": _JSON_SERVICES_CODE, "Message": message}).encode()
    return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data))),
                               ("x-amzn-RequestId", request_id)], data


def refusal(environ: Mapping[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The AccessDenied AWS would answer this request with because of an SCP or RCP; None to let it through."""
    found = request_of(environ, body)
    if found is None:
        return None
    request, protocol = found
    denial = decide(request)
    return None if denial is None else answer(denial, request, protocol)

