"""IAM's check of a role's trust policy, which moto does not make: every AWS principal must be one IAM can resolve.

AWS IAM user guide, "AWS JSON policy elements: Principal" ("How to specify a principal"): a trust policy names
"AWS account and root user" (``arn:aws:iam::123456789012:root`` or the 12-digit id), "IAM roles"
(``arn:aws:iam::AWS-account-ID:role/role-name``), "Role sessions", "IAM users"
(``arn:aws:iam::AWS-account-ID:user/user-name``), federated user sessions, services or ``"*"``; "You cannot identify a
user group as a principal", and a wildcard cannot stand for part of a principal's name. IAM resolves each role and
user principal to the entity's unique id when it stores the policy (AWS re:Post knowledge center, "How do I resolve
the IAM trust policy error 'Failed to update trust policy. Invalid principal in policy'?": "verify that the user
or role wasn't deleted"), so a principal that is malformed or names a role or user that does not exist is refused:
CreateRole and UpdateAssumeRolePolicy answer 400 ``MalformedPolicyDocument`` with the message
``Invalid principal in policy: "AWS":"<the principal>"``.  moto stores any string. The sandbox refuses as IAM does,
so the operator's handling of the refusal is tested against IAM's answer.  (Accounts are not checked for existence:
the sandbox knows only the organization's.)

IAM's quotas on a role, which moto does not apply (IAM user guide, "IAM and AWS STS quotas", read 2026-12-07):
"Managed policies attached to an IAM role: 10" (the default; adjustable) and "Role trust policy length: 2,048
characters", where "IAM doesn't count white space when calculating the size of a policy against these limits".
Beyond them IAM answers 409 ``LimitExceeded`` ("Cannot exceed quota for PoliciesPerRole: 10", "Cannot exceed quota
for ACLSizePerRole: 2048"). The sandbox's figures are its own copy (:data:`MANAGED_POLICIES_PER_ROLE`,
:data:`TRUST_POLICY_LENGTH`), not the operator's.

A role's maximum session duration, which moto stores whatever it is (IAM API reference, CreateRole and UpdateRole,
``MaxSessionDuration``, read 2026-12-07): "This setting can have a value from 1 hour to 12 hours", "Valid Range:
Minimum value of 3600. Maximum value of 43200". Outside it IAM answers 400 ``ValidationError`` (Common Errors: "The
input fails to satisfy the constraints specified by an AWS service"), in AWS's usual words "1 validation error
detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or
equal to 3600". (boto3 refuses a value below the minimum before sending it; the sandbox answers what IAM answers
to whatever is sent.)

A condition operator IAM does not know (IAM user guide, "IAM JSON policy elements: Condition operators": the
string, numeric, date, Boolean, binary, IP address and ARN operators, ``...IfExists`` on each but ``Null``, and the
``ForAllValues:``/``ForAnyValue:`` set operators): CreateRole and UpdateAssumeRolePolicy answer 400
``MalformedPolicyDocument`` (CreateRole's errors: "The request was rejected because the policy document was
malformed. The error message describes the specific error."); the message here, ``Invalid Condition type :
<operator>``, is the sandbox's wording of it. moto stores any operator.

CreateServiceLinkedRole for a role the account has already answers 400 ``InvalidInput`` ("Service role name
AWSServiceRoleForConfig has been taken in this account, please try a different suffix."), where moto answers
``EntityAlreadyExists``; and the role is named as AWS names it (AWS Config developer guide, "Using Service-Linked
Roles for AWS Config": "AWS Config uses the service-linked role named AWSServiceRoleForConfig"; CloudTrail user
guide: "AWSServiceRoleForCloudTrail"), where moto writes ``AWSServiceRoleForconfig``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

#: The IAM operations that take a trust policy, and the parameter that carries it.
TRUST_POLICY_PARAMETER = {"CreateRole": "AssumeRolePolicyDocument", "UpdateAssumeRolePolicy": "PolicyDocument"}
#: The IAM operations the sandbox looks at before moto answers (:func:`before`).
OPERATIONS = frozenset({*TRUST_POLICY_PARAMETER, "AttachRolePolicy", "CreateServiceLinkedRole", "UpdateRole"})
#: MaxSessionDuration's valid range (IAM API reference, CreateRole and UpdateRole, 2026-12-07): the sandbox's copy.
SESSION_MIN, SESSION_MAX = 3600, 43200
#: IAM's condition operators (IAM user guide, "IAM JSON policy elements: Condition operators", 2026-12-07): the
#: sandbox's own copy, not the operator's.
CONDITION_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"})
#: IAM's default quota of managed policies attached to a role, and its trust policy length (white space not counted).
MANAGED_POLICIES_PER_ROLE = 10  # IAM user guide, "IAM and AWS STS quotas" (2026-12-07)
TRUST_POLICY_LENGTH = 2048  # the same page (2026-12-07)
#: The part of a service-linked role's name after AWSServiceRoleFor, as AWS spells it (moto: the principal's label).
SERVICE_LINKED_ROLE_SUFFIX = {"config": "Config", "cloudtrail": "CloudTrail", "organizations": "Organizations"}
_AWS_MANAGED: dict[str, Any] | None = None  # moto's copy of the AWS managed policies, by name (parsed once)
_ARN = re.compile(r"^arn:aws(-[a-z]+)*:(iam|sts)::(\d{12}):(.+)$")
_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _aws_principals(policy: Any) -> Iterator[str]:
    for stmt in _as_list(policy.get("Statement", [])) if isinstance(policy, dict) else []:
        if not isinstance(stmt, dict):
            continue
        for key in ("Principal", "NotPrincipal"):
            value = stmt.get(key)
            if isinstance(value, dict):
                yield from (str(p) for p in _as_list(value.get("AWS")) if p is not None)
            elif value is not None and value != "*":
                yield str(value)


def _entity_exists(account: str, kind: str, arn: str) -> bool:
    """A role or user with this ARN (its path included) in the account."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["global"]
    entities = backend.roles.values() if kind == "role" else backend.users.values()
    return any(getattr(e, "arn", None) == arn for e in entities)


def invalid_principal(principal: str) -> bool:
    """Whether IAM refuses this AWS principal in a trust policy."""
    if principal == "*" or re.fullmatch(r"\d{12}", principal):
        return False
    match = _ARN.match(principal)
    if match is None or "*" in principal or "?" in principal:
        return True
    service, account, resource = match.group(2), match.group(3), match.group(4)
    if service == "sts":  # role sessions and federated user sessions: any session name
        return not re.fullmatch(r"(assumed-role/[\w+=,.@-]{1,64}|federated-user)/[\w+=,.@-]{2,64}", resource)
    if resource == "root":
        return False
    kind, _, rest = resource.partition("/")
    path, _, name = ("/" + rest).rpartition("/")
    if kind not in ("role", "user") or not _NAME.match(name) or not _PATH.match(path + "/"):
        return True
    return not _entity_exists(account, kind, principal)


def before(operation: str, body: bytes, caller_account: str) -> tuple[str, bytes] | None:
    """Called for :data:`OPERATIONS` before moto answers: IAM's refusal as (status, XML body), or None."""
    params = parse_qs(body.decode("utf-8", "replace"))
    if operation == "AttachRolePolicy":
        arn = (params.get("PolicyArn") or [""])[0]
        _aws_managed_policy(caller_account, arn)
        return _too_many_policies(caller_account, (params.get("RoleName") or [""])[0], arn)
    if operation == "CreateServiceLinkedRole":
        return _service_linked_role_taken(caller_account, (params.get("AWSServiceName") or [""])[0],
                                          (params.get("CustomSuffix") or [""])[0])
    session = _session_refusal(params)
    if session is not None or operation == "UpdateRole":
        return session
    return refusal(operation, params)


def _session_refusal(params: dict[str, list[str]]) -> tuple[str, bytes] | None:
    """IAM's ValidationError for a MaxSessionDuration outside 3600..43200 (None: absent or in range)."""
    raw = (params.get("MaxSessionDuration") or [""])[0]
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return _error("400 Bad Request", "ValidationError", f"1 validation error detected: Value '{raw}' at "
                      "'maxSessionDuration' failed to satisfy constraint: Member must be an integer")
    if value < SESSION_MIN:
        bound = f"greater than or equal to {SESSION_MIN}"
    elif value > SESSION_MAX:
        bound = f"less than or equal to {SESSION_MAX}"
    else:
        return None
    return _error("400 Bad Request", "ValidationError", f"1 validation error detected: Value '{value}' at "
                  f"'maxSessionDuration' failed to satisfy constraint: Member must have value {bound}")


def _unknown_operator(policy: Any) -> str | None:
    """The first condition operator of the policy IAM does not know (None: all known)."""
    for stmt in _as_list(policy.get("Statement", [])) if isinstance(policy, dict) else []:
        condition = stmt.get("Condition") if isinstance(stmt, dict) else None
        for operator in condition if isinstance(condition, dict) else []:
            name = str(operator)
            for prefix in ("ForAllValues:", "ForAnyValue:"):
                name = name.removeprefix(prefix)
            name = name.removesuffix("IfExists") if name != "NullIfExists" else name  # not on Null
            if name not in CONDITION_OPERATORS:
                return str(operator)
    return None


def _error(status: str, code: str, message: str) -> tuple[str, bytes]:
    xml = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
           f"<Code>{code}</Code><Message>{_escape(message)}</Message></Error>"
           f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, xml.encode()


def _role(account: str, name: str) -> Any:
    from moto.iam.models import iam_backends

    return next((r for r in iam_backends[account]["global"].roles.values() if r.name == name), None)


def _too_many_policies(account: str, role_name: str, arn: str) -> tuple[str, bytes] | None:
    role = _role(account, role_name)
    attached = getattr(role, "managed_policies", None) or {}
    if role is None or arn in attached or len(attached) < MANAGED_POLICIES_PER_ROLE:
        return None
    return _error("409 Conflict", "LimitExceeded",
                  f"Cannot exceed quota for PoliciesPerRole: {MANAGED_POLICIES_PER_ROLE}")


def service_linked_role_name(service: str, suffix: str = "") -> str:
    """The name AWS gives the service-linked role of ``service`` (e.g. AWSServiceRoleForConfig)."""
    label = service.split(".")[0]
    name = "AWSServiceRoleFor" + SERVICE_LINKED_ROLE_SUFFIX.get(label, label)
    return f"{name}_{suffix}" if suffix else name


def _service_linked_role_taken(account: str, service: str, suffix: str) -> tuple[str, bytes] | None:
    name = service_linked_role_name(service, suffix)
    if _role(account, name) is None:
        return None
    return _error("400 Bad Request", "InvalidInput",
                  f"Service role name {name} has been taken in this account, please try a different suffix.")


def _install_service_names() -> None:
    """moto names a service-linked role from its SERVICE_NAME_CONVERSION table: AWS's spellings added to it."""
    from moto.iam import models

    for label, spelt in SERVICE_LINKED_ROLE_SUFFIX.items():
        models.SERVICE_NAME_CONVERSION.setdefault(label, spelt)


_install_service_names()


def _aws_managed_policy(account: str, arn: str) -> None:
    """AWS managed policies (``arn:aws:iam::aws:policy/...``: "a standalone policy that is created and administered
    by AWS", IAM user guide, "Managed policies and inline policies") exist in every account, ready to attach. moto
    loads its copy of them into every account only with MOTO_IAM_LOAD_MANAGED_POLICIES (4.7 MB parsed per account);
    the sandbox adds the one being attached, from that copy, when an account attaches it. One moto does not know
    stays unknown (NoSuchEntity, as for a misspelt ARN)."""
    global _AWS_MANAGED
    match = re.fullmatch(r"arn:aws:iam::aws:policy(/(?:[^/]+/)*)([^/]+)", arn)
    if match is None:
        return
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    if _AWS_MANAGED is None:
        _AWS_MANAGED = json.loads(aws_managed_policies_data)
    data = _AWS_MANAGED.get(match.group(2))
    backend = iam_backends[account]["global"]
    if data is None or data.get("Path") != match.group(1) or arn in backend.managed_policies:
        return
    backend.managed_policies[arn] = AWSManagedPolicy.from_data(match.group(2), account, backend.region_name, data)


def refusal(operation: str, params: dict[str, list[str]]) -> tuple[str, bytes] | None:
    """(status, XML body) of IAM's MalformedPolicyDocument for a trust policy it would refuse; None to let moto
    answer (which also answers a document that is not JSON at all)."""
    document = (params.get(TRUST_POLICY_PARAMETER[operation]) or [""])[0]
    try:
        policy = json.loads(document)
    except ValueError:
        try:
            policy = json.loads(unquote(document))
        except ValueError:
            return None
    if len("".join(document.split())) > TRUST_POLICY_LENGTH:
        return _error("409 Conflict", "LimitExceeded",
                      f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_LENGTH}")
    operator = _unknown_operator(policy)
    if operator is not None:
        return _error("400 Bad Request", "MalformedPolicyDocument", f"Invalid Condition type : {operator}")
    bad = next((p for p in _aws_principals(policy) if invalid_principal(p)), None)
    if bad is None:
        return None
    message = f'Invalid principal in policy: "AWS":"{bad}"'
    xml = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
           f"<Code>MalformedPolicyDocument</Code><Message>{_escape(message)}</Message></Error>"
           f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return "400 Bad Request", xml.encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
