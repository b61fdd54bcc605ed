"""The claim rules the engine and ``awsorg validate`` share (``controller.planner.claims``), case by case."""

from __future__ import annotations

import pytest

from controller.planner.claims import (
    Claim,
    ObjectKey,
    account_id_key,
    account_key,
    account_keys,
    claim_owner,
    find_cycle,
    is_account_id_key,
    orgunit_key,
    orgunit_parent,
    policy_key,
    policy_type_of_key,
)

OWNER_CASES = [
    ("alone: nobody else owns it", Claim("a"), [Claim("a")], None),
    ("its own index entry is not another owner", Claim("b", created="2"), [Claim("b", created="1")], None),
    ("neither bound: the older object owns it", Claim("b", created="2"), [Claim("a", created="1")], "a"),
    ("neither bound: the younger one is not the owner", Claim("a", created="1"), [Claim("b", created="2")], None),
    ("same creationTimestamp: the lower name owns it", Claim("b", created="1"), [Claim("a", created="1")], "a"),
    ("same creationTimestamp, the lower name itself: it owns it", Claim("a", created="1"),
     [Claim("b", created="1")], None),
    ("another one is bound to the resource: it owns it, however young", Claim("a", created="1"),
     [Claim("b", id="ou-1", created="9")], "b"),
    ("two others bound: the lower name is named", Claim("a"), [Claim("c", id="x"), Claim("b", id="x")], "b"),
    ("this one is bound and the other is not: this one keeps it", Claim("b", id="ou-1", created="9"),
     [Claim("a", created="1")], None),
    ("both bound to one resource (adopted before the rule): the older keeps it", Claim("b", id="x", created="2"),
     [Claim("a", id="x", created="1")], "a"),
    ("both bound to one resource, this one older: it keeps it", Claim("a", id="x", created="1"),
     [Claim("b", id="x", created="2")], None),
    ("both bound, to different resources: no conflict between them", Claim("b", id="y", created="2"),
     [Claim("a", id="x", created="1")], None),
    ("this one is creating (request recorded): it goes on", Claim("b", request_id="car-1", created="9"),
     [Claim("a", created="1")], None),
    ("this one recorded its intent to create: it goes on", Claim("b", creating=True, created="9"),
     [Claim("a", created="1")], None),
    ("another one is creating: it owns it over an older idle one", Claim("a", created="1"),
     [Claim("b", request_id="car-1", created="9")], "b"),
    ("another one is creating but a third is bound: the bound one owns it", Claim("a"),
     [Claim("b", creating=True), Claim("c", id="x")], "c"),
]


@pytest.mark.parametrize(("reason", "me", "others", "owner"), OWNER_CASES, ids=[c[0] for c in OWNER_CASES])
def test_claim_owner(reason: str, me: Claim, others: list[Claim], owner: str | None) -> None:
    assert claim_owner(me, others) == owner, reason


KEY_CASES = [
    ("no parent is the root", orgunit_key("Prod", None, None), "root/Prod"),
    ("parentId r-... is the root too (an organization has one root)", orgunit_key("Prod", None, "r-ab12"),
     "root/Prod"),
    ("an OU id is its own parent", orgunit_key("Prod", None, "ou-ab12-11111111"), "id:ou-ab12-11111111/Prod"),
    ("a parentRef is keyed by the object, before a parentId", orgunit_key("Prod", "platform", "ou-ab12-1"),
     "ref:platform/Prod"),
    ("OU names compare as AWS does: case-sensitively", orgunit_key("prod", None, None), "root/prod"),
    ("emails compare case-insensitively", account_key("Team@Example.COM"), "team@example.com"),
    ("an account id is a key of its own, never an email's", account_id_key("222222222222"), "accountId:222222222222"),
    ("policy names are per type", policy_key("RESOURCE_CONTROL_POLICY", "deny"), "RESOURCE_CONTROL_POLICY/deny"),
    ("the policy type reads back from the key", policy_type_of_key(policy_key("SERVICE_CONTROL_POLICY", "a/b")),
     "SERVICE_CONTROL_POLICY"),
]
ACCOUNT_KEY_CASES = [
    ("an account to be created claims its email only", ("a@example.com", None, None), ("a@example.com",)),
    ("spec.accountId is claimed as well as the email (two objects naming one account id meet)",
     ("a@example.com", "222222222222", None), ("a@example.com", "accountId:222222222222")),
    ("the bound id is claimed too: an object created by email meets one naming its id",
     ("a@example.com", None, "222222222222"), ("a@example.com", "accountId:222222222222")),
    ("the same id named and bound: one key", ("a@example.com", "222222222222", "222222222222"),
     ("a@example.com", "accountId:222222222222")),
    ("named one, bound to another (spec.accountId edited after binding): both claimed",
     ("a@example.com", "333333333333", "222222222222"),
     ("a@example.com", "accountId:333333333333", "accountId:222222222222")),
]


@pytest.mark.parametrize(("reason", "fields", "keys"), ACCOUNT_KEY_CASES, ids=[c[0] for c in ACCOUNT_KEY_CASES])
def test_account_keys(reason: str, fields: tuple[str, str | None, str | None], keys: tuple[str, ...]) -> None:
    assert account_keys(*fields) == keys, reason
    assert [is_account_id_key(k) for k in keys] == [False] + [True] * (len(keys) - 1), reason


@pytest.mark.parametrize(("reason", "key", "expected"), KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_claim_keys(reason: str, key: str, expected: str) -> None:
    assert key == expected, reason


def test_the_parent_in_words_says_the_root_for_a_root_id() -> None:
    assert orgunit_parent(None, "r-ab12") == orgunit_parent(None, None) == ("root", "the root")
    assert orgunit_parent("platform", None)[1] == "OrgUnit 'platform'"
    assert orgunit_parent(None, "ou-ab12-11111111")[1] == "ou-ab12-11111111"


def ou(name: str) -> ObjectKey:
    return ("OrgUnit", name)


CYCLE_CASES: list[tuple[str, dict[str, str], str, list[str]]] = [
    ("a chain that ends at the root is no cycle", {"a": "b", "b": "c"}, "a", []),
    ("an object that is its own parent", {"a": "a"}, "a", ["a", "a"]),
    ("two objects pointing at each other", {"a": "b", "b": "a"}, "a", ["a", "b", "a"]),
    ("three in a loop, named in the order of the chain", {"a": "b", "b": "c", "c": "a"}, "b", ["b", "c", "a", "b"]),
    ("pointing into a loop it is not part of: not its cycle", {"x": "a", "a": "b", "b": "a"}, "x", []),
    ("a reference to an object that does not exist", {"a": "missing"}, "a", []),
]


@pytest.mark.parametrize(("reason", "parents", "start", "chain"), CYCLE_CASES, ids=[c[0] for c in CYCLE_CASES])
def test_find_cycle(reason: str, parents: dict[str, str], start: str, chain: list[str]) -> None:
    def refs_of(key: ObjectKey) -> list[ObjectKey]:
        return [ou(parents[key[1]])] if key[1] in parents else []

    assert find_cycle(ou(start), ou(parents[start]), refs_of) == [ou(n) for n in chain], reason


def test_find_cycle_crosses_kinds() -> None:
    """The engine walks every kind's references: a cycle through two kinds is found too."""
    refs = {("A", "x"): [("B", "y")], ("B", "y"): [("A", "x")]}
    assert find_cycle(("A", "x"), ("B", "y"), lambda k: refs.get(k, [])) == [("A", "x"), ("B", "y"), ("A", "x")]
