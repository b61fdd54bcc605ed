"""Every CEL rule the CRDs carry, evaluated by cel-python (controller/api/cel.py) on objects the API server
admits and on objects it refuses.

The expected verdicts are written here by hand from the CEL language definition and the Kubernetes
validation-rules documentation ("Validation rules" in "Extend the Kubernetes API with
CustomResourceDefinitions"): ``self`` is the value at the rule's schema node, ``oldSelf`` the stored one in a
transition rule, ``has()`` tests a field's presence, ``size()`` counts a string's code points, ``&&``/``||``
absorb an error when the other side decides.  They are not computed by any code of ours, so a mistake in the
library or in our seam around it fails here instead of agreeing with itself in ``awsorg validate`` and the
sandbox's API server.

A rule added to ``crds/`` without a case here fails :func:`test_every_crd_rule_has_cases`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import cel

CRDS = Path(__file__).resolve().parent.parent / "crds"

ABSENT = object()  # oldSelf not given (a create)

_TAG_PREFIX_RULE = ("self.all(k, !['aws:', 'awS:', 'aWs:', 'aWS:', 'Aws:', 'AwS:', 'AWs:', 'AWS:']"
                    ".exists(p, k.startsWith(p)))")

#: rule -> [(self, oldSelf, the API server's verdict, why)]
CASES: dict[str, list[tuple[Any, Any, bool, str]]] = {
    "!(has(self.orgUnitRef) && has(self.parentId))": [
        ({}, ABSENT, True, "neither: the account goes to the root"),
        ({"orgUnitRef": {"name": "prod"}}, ABSENT, True, "only the reference"),
        ({"parentId": "ou-ab12-cdefghij"}, ABSENT, True, "only the id"),
        ({"orgUnitRef": {"name": "prod"}, "parentId": "ou-ab12-cdefghij"}, ABSENT, False, "both"),
    ],
    "!has(self.invite) || has(self.accountId)": [
        ({}, ABSENT, True, "no invitation: created or adopted as before"),
        ({"invite": {}, "accountId": "123456789012"}, ABSENT, True, "the invitation names the account"),
        ({"invite": {"notes": "hi"}}, ABSENT, False, "an invitation to no account"),
    ],
    "!(has(self.parentRef) && has(self.parentId))": [
        ({"name": "x"}, ABSENT, True, "neither"),
        ({"parentRef": {"name": "a"}}, ABSENT, True, "only the reference"),
        ({"parentRef": {"name": "a"}, "parentId": "r-ab12"}, ABSENT, False, "both"),
    ],
    "self == oldSelf": [
        ("a@example.com", "a@example.com", True, "unchanged email"),
        ("b@example.com", "a@example.com", False, "a changed email"),
        ("A@example.com", "a@example.com", False, "string equality is case-sensitive"),
    ],
    "self.all(c, self.exists_one(d, d.operator == c.operator && d.key == c.key))": [
        ([], ABSENT, True, "no conditions"),
        ([{"operator": "StringEquals", "key": "aws:PrincipalOrgID"}, {"operator": "Bool", "key": "aws:PrincipalOrgID"},
          {"operator": "StringEquals", "key": "sts:ExternalId"}], ABSENT, True, "another operator or another key"),
        ([{"operator": "StringEquals", "key": "aws:PrincipalOrgID"},
          {"operator": "StringEquals", "key": "aws:PrincipalOrgID"}], ABSENT, False, "the same operator and key"),
        ([{"operator": "Bool", "key": "aws:MultiFactorAuthPresent"},
          {"operator": "Bool", "key": "AWS:multifactorauthpresent"}], ABSENT, True,
         "keys in another case pass the API server (validate and the operator refuse them)"),
    ],
    "self.all(k, size(k) >= 1 && size(k) <= 128)": [
        ({}, ABSENT, True, "no tags: all() of nothing is true"),
        ({"team": "x", "k" * 128: "y"}, ABSENT, True, "128 characters"),
        ({"é" * 128: "x"}, ABSENT, True, "size() counts code points, not the 256 UTF-8 bytes"),
        ({"k" * 129: "x"}, ABSENT, False, "129 characters"),
        ({"": "x"}, ABSENT, False, "an empty key"),
    ],
    _TAG_PREFIX_RULE: [
        ({"team": "a", "awsome": "b", "my:aws:x": "c"}, ABSENT, True, "aws: only as a prefix counts"),
        ({"aws:cloudformation:stack": "x"}, ABSENT, False, "aws:"),
        ({"team": "a", "AwS:x": "b"}, ABSENT, False, "any case of aws:"),
    ],
    "self.metadata.name == 'organization'": [
        ({"metadata": {"name": "organization"}, "spec": {}}, ABSENT, True, "the singleton's name"),
        ({"metadata": {"name": "org"}, "spec": {}}, ABSENT, False, "another name"),
    ],
    "has(self.accountRef) != has(self.accountId)": [
        ({"accountRef": {"name": "audit"}, "servicePrincipal": "x"}, ABSENT, True, "the reference"),
        ({"accountId": "111111111111"}, ABSENT, True, "the id"),
        ({"servicePrincipal": "x"}, ABSENT, False, "neither"),
        ({"accountRef": {"name": "audit"}, "accountId": "111111111111"}, ABSENT, False, "both"),
    ],
}


# The email rules (CreateAccount's, controller.api.limits.EMAIL_CEL_RULES) and the control-character rule on names.
CASES.update({
    "self.matches('^[\\\\x00-\\\\x7f]*$')": [
        ("a@example.com", ABSENT, True, "ASCII"), ("é@example.com", ABSENT, False, "not 7-bit ASCII")],
    "self.matches('^[^@]*@[^@]*$')": [
        ("a@example.com", ABSENT, True, "one @"), ("a@b@example.com", ABSENT, False, "two"),
        ("example.com", ABSENT, False, "none")],
    "self.matches('^[^\\\\x00-\\\\x20\\\\x7f\"\\'()<>\\\\[\\\\]:;,\\\\\\\\|%&@]+@')": [
        ("john.doe+x@example.com", ABSENT, True, "dots and plus are fine"),
        ("john(doe)@example.com", ABSENT, False, "("), ("jo hn@example.com", ABSENT, False, "a space"),
        ("a\\b@example.com", ABSENT, False, "a backslash"), ("a%b@example.com", ABSENT, False, "%"),
        ("@example.com", ABSENT, False, "an empty local part")],
    "!self.startsWith('.')": [("a.b@example.com", ABSENT, True, "a dot inside"),
                              (".ab@example.com", ABSENT, False, "a leading dot")],
    "self.matches('@[a-zA-Z0-9.-]*$')": [("a@ex-ample.co.uk", ABSENT, True, "letters, digits, - and ."),
                                        ("a@exa_mple.com", ABSENT, False, "an underscore")],
    "!self.matches('@[-.]') && !self.matches('[-.]$')": [
        ("a@example.com", ABSENT, True, "letters at both ends"), ("a@-example.com", ABSENT, False, "a leading -"),
        ("a@example.com.", ABSENT, False, "a trailing dot")],
    "self.matches('@[^@]*[.]')": [("a@example.com", ABSENT, True, "a dot"),
                                  ("a@localhost", ABSENT, False, "no dot in the domain"),
                                  ("a.b@localhost", ABSENT, False, "a dot in the local part only")],
    "!self.matches('[\\\\x00-\\\\x1f\\\\x7f-\\\\x9f]')": [
        ("Team A", ABSENT, True, "a space is not a control character"), ("Équipe", ABSENT, True, "letters"),
        ("Team\nA", ABSENT, False, "a newline"), ("a\x07", ABSENT, False, "a bell"),
        ("a\x00", ABSENT, False, "a NUL"), ("a\x85", ABSENT, False, "NEL (C1)")],
})


def _rules(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for rule in node.get("x-kubernetes-validations") or []:
            yield rule["rule"]
        for value in node.values():
            yield from _rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rules(value)


def crd_rules() -> set[str]:
    rules: set[str] = set()
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            rules.update(_rules(doc))
    return rules


def test_every_crd_rule_has_cases() -> None:
    rules = crd_rules()
    assert rules, "no rule found in crds/"
    missing = rules - set(CASES)
    assert not missing, f"rules of crds/ without cases here: {sorted(missing)}"
    for rule in rules:
        verdicts = {expected for _, _, expected, _ in CASES[rule]}
        assert verdicts == {True, False}, f"{rule}: needs an object it admits and one it refuses"


@pytest.mark.parametrize(("rule", "value", "old", "expected"), [
    pytest.param(rule, value, old, expected, id=f"{rule[:40]}: {why}")
    for rule, cases in CASES.items() for value, old, expected, why in cases
])
def test_crd_rule_verdict(rule: str, value: Any, old: Any, expected: bool) -> None:
    compiled = cel.compile_rule(rule)
    assert compiled.is_transition == (old is not ABSENT)
    assert compiled.evaluate(value, None if old is ABSENT else old) is expected


# CEL's own semantics where a hand-written subset is easy to get wrong (the one this replaced raised on the
# first two: CEL's && and || are commutative and absorb an error when the other side decides).
@pytest.mark.parametrize(("rule", "value", "expected"), [
    ("self.missing == 1 || true", {}, True),
    ("self.missing == 1 && false", {}, False),
    ("!has(self.x) || self.x.size() <= 2", {"x": [1, 2, 3]}, False),
    ("self.ids.map(i, size(i)).all(n, n < 3)", {"ids": ["a", "bbb"]}, False),
    ("self.ids.filter(i, i.startsWith('a')) == ['ab']", {"ids": ["ab", "b"]}, True),
    ("self.ids.exists_one(i, i.endsWith('b'))", {"ids": ["ab", "b"]}, False),
    ("self.k.matches('^\\\\p{L}+$')", {"k": "éa"}, True),  # RE2, as the API server's matches()
    ("-7 / 2 == -3 && -7 % 2 == -1", {}, True),  # integer division truncates toward zero
    ("self.mode in ['A', 'B'] ? self.n > 1 : true", {"mode": "A", "n": 2}, True),
])
def test_cel_semantics(rule: str, value: Any, expected: bool) -> None:
    assert cel.compile_rule(rule).evaluate(value) is expected


@pytest.mark.parametrize("rule", [
    "self.missing == 1",  # no such key
    "self.x / 0 == 1",  # division by zero
    "9223372036854775807 + 1 > 0",  # int64 overflow
    "self.x",  # not a bool
])
def test_evaluation_errors(rule: str) -> None:
    with pytest.raises(cel.RuleError):
        cel.compile_rule(rule).evaluate({"x": 1})


@pytest.mark.parametrize(("rule", "words"), [
    ("self.size >", "Syntax error"),
    ("self.name.frobnicate()", "undeclared reference to 'frobnicate'"),
    # Kubernetes' libraries that cel-python lacks are refused, not left to fail at each evaluation.
    ("self.name.lowerAscii() == 'a'", "a Kubernetes CEL library function that cel-python lacks"),
    ("self.q.quantity().isGreaterThan(1)", "a Kubernetes CEL library function that cel-python lacks"),
])
def test_rules_that_do_not_compile(rule: str, words: str) -> None:
    with pytest.raises(cel.UnsupportedRule, match=words.replace("(", r"\(")):
        cel.compile_rule(rule)
