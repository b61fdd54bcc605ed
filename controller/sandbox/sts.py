"""AssumeRole as AWS STS decides it, which moto does not: the role must exist and its trust policy admit the caller.

AWS STS AssumeRole (API reference, "AssumeRole"): "the trust policy of the role must allow the principal making
the request to assume it"; otherwise, and when there is no such role, STS answers 403 AccessDenied ("User: ... is
not authorized to perform: sts:AssumeRole on resource: ..."). moto hands out credentials for any RoleArn. The
sandbox refuses as STS does, so a test of work in member accounts cannot pass on a role that would not be
assumable in AWS. The caller is known here only by its account (the sandbox's access keys name no user), so a
principal in the caller's account is taken as the caller.

A new account's role is not assumable at once. CreateAccount (Organizations API reference): "Because CreateAccount
operates asynchronously, it can return a successful completion message even though account initialization might
still be in progress. You might need to wait a few minutes before you can successfully access the account." The
sandbox plays that with ``member_role_delay`` (an :class:`~controller.sandbox.aws.AwsSandbox` setting, 0 by
default): for that many seconds after its CreateAccount request SUCCEEDED, AssumeRole on any role of the account
is refused with the same AccessDenied.

A role just created, or whose trust policy was just changed, is seen by STS late (IAM's eventual consistency,
:mod:`controller.sandbox.propagation`): during the sandbox's ``propagation_delay`` STS decides on the trust policy
it still sees (none for a new role: AccessDenied).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def admits(trust_policy: str, caller_account: str) -> bool:
    """Whether a role's trust policy lets a principal of ``caller_account`` call sts:AssumeRole."""
    try:
        policy = json.loads(trust_policy)
    except ValueError:
        try:
            policy = json.loads(unquote(trust_policy))  # IAM keeps it URL-encoded in some answers
        except ValueError:
            return False
    for stmt in _as_list(policy.get("Statement", [])) if isinstance(policy, dict) else []:
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            continue
        if not {"sts:AssumeRole", "sts:*", "*"} & {str(a) for a in _as_list(stmt.get("Action"))}:
            continue
        principal = stmt.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        for entry in (str(p) for p in _as_list(aws) if p):
            if entry in ("*", caller_account) or entry.startswith(f"arn:aws:iam::{caller_account}:"):
                return True
    return False


def initializing(strict: Any, account_id: str, now: float | None = None) -> bool:
    """Whether the account was created less than the sandbox's ``member_role_delay`` ago (its role not assumable
    yet). ``strict``: the :class:`~controller.sandbox.strict.StrictOrganizations` middleware, which keeps the
    CreateAccount requests."""
    delay = float(getattr(strict, "member_role_delay", 0.0) or 0.0)
    if delay <= 0:
        return False
    now = time.time() if now is None else now
    return any(r.account_id == account_id and r.completed is not None and now < r.completed + delay
               for r in list(strict.create_requests.values()))


def refusal(body: bytes, caller_account: str, strict: Any = None) -> tuple[str, bytes] | None:
    """(status, XML body) of STS's AccessDenied for an AssumeRole it would refuse; None to let moto answer."""
    from moto.iam.models import iam_backends

    role_arn = (parse_qs(body.decode("utf-8", "replace")).get("RoleArn") or [""])[0]
    parts = role_arn.split(":", 5)
    role = None
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        name = parts[5].rsplit("/", 1)[-1]
        role = next((r for r in iam_backends[parts[4]]["global"].roles.values() if r.name == name), None)
    if role is not None and strict is not None and initializing(strict, parts[4]):
        role = None  # the account is still initializing: refused the same way
    trust = str(role.assume_role_policy_document) if role is not None else None
    if role is not None and strict is not None and getattr(strict, "propagation", None) is not None:
        trust = strict.propagation.trust_policy(parts[4], role.name, trust)
    if trust is not None and admits(trust, caller_account):
        return None
    message = (f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: sts:AssumeRole on "
               f"resource: {role_arn}")
    xml = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
           f"<Code>AccessDenied</Code><Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
           "</ErrorResponse>")
    return "403 Forbidden", xml.encode()
