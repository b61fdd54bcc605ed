"""Claims and reference cycles: the rules that span objects, one copy for the engine and ``awsorg validate``.

An object *claims* the AWS resource it declares (an account's email and its account id, a policy's name within
its type, an OU's name under its parent): two objects with one claim key would bind to one resource, so one of them owns
it (:func:`claim_owner`) and the other is refused. The keys are computed here from the spec's fields alone
(no AWS, no cluster), so that ``awsorg validate`` calls duplicates exactly what the operator refuses at run
time. A chain of references that returns to its start is a cycle (:func:`find_cycle`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

ObjectKey = tuple[str, str]  # (kind, metadata.name)


@dataclass(frozen=True)
class Claim:
    """An object that declares an AWS resource (an email, a policy name, an OU name under a parent), and how
    far it got in binding to it."""

    name: str
    id: str | None = None
    request_id: str | None = None
    creating: bool = False
    created: str = ""


def claim_owner(me: Claim, others: list[Claim]) -> str | None:
    """Which other object owns what both declare, if not this one: the one bound to the AWS resource first,
    then one already creating it, then the oldest (creationTimestamp, name). Two objects bound to one
    resource (adopted before this rule): the older keeps it."""
    others = [o for o in others if o.name != me.name]
    if me.id:
        same = sorted((o.created, o.name) for o in others if o.id == me.id and (o.created, o.name) < (me.created,
                                                                                                     me.name))
        return same[0][1] if same else None
    bound = sorted(o.name for o in others if o.id)
    if bound:
        return bound[0]
    if me.request_id or me.creating:
        return None
    creating = sorted(o.name for o in others if o.request_id or o.creating)
    if creating:
        return creating[0]
    older = sorted((o.created, o.name) for o in others if (o.created, o.name) < (me.created, me.name))
    return older[0][1] if older else None


# ------------------------------------------------------------------------------------------------ claim keys


def orgunit_parent(parent_ref: str | None, parent_id: str | None) -> tuple[str, str]:
    """An OrgUnit's parent as a claim key's first half, and in words.

    ``parentId: r-...`` is the root: an organization has exactly one, so it and "no parent" are one parent
    (a root id that is not this organization's is refused by the planner as ParentNotFound).
    """
    if parent_ref:
        return f"ref:{parent_ref}", f"OrgUnit {parent_ref!r}"
    if parent_id and not parent_id.startswith("r-"):
        return f"id:{parent_id}", parent_id
    return "root", "the root"


def orgunit_key(aws_name: str, parent_ref: str | None, parent_id: str | None) -> str:
    """OU names are unique under one parent in AWS."""
    return f"{orgunit_parent(parent_ref, parent_id)[0]}/{aws_name}"


def account_key(email: str) -> str:
    """One account per root user email, compared case-insensitively."""
    return email.lower()


def account_id_key(account_id: str) -> str:
    """One object per AWS account: its 12-digit id is a claim key as well as its email (an email holds an ``@``,
    so the two never meet)."""
    return f"accountId:{account_id}"


def is_account_id_key(key: str) -> bool:
    return key.startswith("accountId:")


def account_keys(email: str, account_id: str | None, bound_id: str | None = None) -> tuple[str, ...]:
    """What an AwsAccount claims: its email, the account id its spec names (``spec.accountId``) and the one it is
    bound to (``status.id``; offline, in ``awsorg validate``, there is none). Without the ids as keys, an object
    naming another object's account by id with another email would be settled by neither claim (issue 19)."""
    keys = [account_key(email)]
    for ident in (account_id, bound_id):
        if ident and account_id_key(ident) not in keys:
            keys.append(account_id_key(ident))
    return tuple(keys)


def policy_key(policy_type: str, aws_name: str) -> str:
    """Policy names are unique per type in AWS (:func:`policy_type_of_key` reads the type back)."""
    return f"{policy_type}/{aws_name}"


def policy_type_of_key(key: str) -> str:
    return key.split("/", 1)[0]


# ------------------------------------------------------------------------------------------------ cycles


def find_cycle(me: ObjectKey, first: ObjectKey,
               refs_of: Callable[[ObjectKey], Iterable[ObjectKey]]) -> list[ObjectKey]:
    """The chain of references from ``me`` back to itself through its reference ``first`` (``[me, first, ...,
    me]``), or ``[]``. ``refs_of``: the objects an object refers to (none for an unknown one)."""
    seen = {me}
    stack = [(first, [me, first])]
    while stack:
        current, path = stack.pop()
        if current == me:
            return path
        if current in seen:
            continue
        seen.add(current)
        for ref in refs_of(current):
            stack.append((ref, [*path, ref]))
    return []
