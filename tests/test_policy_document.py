"""Policy document validation (offline, before any AWS call): each case says why, and the message names the field.

Every document accepted here is also accepted by the strict sandbox's ``check_policy_document`` (the
AWS rules), and every document the sandbox refuses is refused here too.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from controller.planner.policy_document import minify, same_content, validate_document
from controller.sandbox import aws_limits
from controller.sandbox.organizations.base import OrganizationsError
from controller.sandbox.organizations.policy_grammar import check_policy_document

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"


def deny(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": "*", "Resource": "*", **extra}


def doc(*statements: Any, **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


VALID = [
    ("the landing zone's deny-root SCP",
     SCP, doc({"Sid": "DenyRoot", "Effect": "Deny", "Action": "*", "Resource": "*",
               "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}}})),
    ("a single statement object instead of a list",
     SCP, {"Version": "2012-10-17", "Statement": deny()}),
    ("Resource is optional in an SCP", SCP, doc({"Effect": "Deny", "Action": "s3:*"})),
    ("NotAction with a list and the old Version", SCP,
     {"Version": "2008-10-17", "Statement": [{"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]}),
    ("Allow statements are fine in SCPs", SCP, doc({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})),
    ("IfExists, ForAnyValue: and boolean values are IAM condition syntax", SCP,
     doc(deny(Condition={"ForAnyValue:StringNotEqualsIfExists": {"aws:RequestedRegion": ["eu-west-1"]},
                         "Bool": {"aws:SecureTransport": False}, "Null": {"aws:TokenIssueTime": "true"}}))),
    # AWS Security Blog, "AWS Organizations service control policy now supports full IAM language" (2025):
    # "conditions, individual resource ARNs, and the NotAction element with Allow statements", "wildcards at the
    # beginning or middle of Action element strings", "the NotResource element" (in Allow and Deny).
    ("full IAM language: an Allow with a Condition", SCP,
     doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
          "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}})),
    ("full IAM language: an Allow of individual resource ARNs", SCP,
     doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logs/*", "arn:aws:s3:::audit/*"]})),
    ("full IAM language: NotAction in an Allow", SCP, doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
    ("full IAM language: wildcards at the beginning and in the middle of an action", SCP,
     doc({"Effect": "Allow", "Action": ["ec2:*Instances", "s3:Get*Tagging", "iam:*Role*"], "Resource": "*"})),
    ("full IAM language: NotResource in an Allow", SCP,
     doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})),
    ("full IAM language: NotResource in a Deny", SCP,
     doc({"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::shared", "arn:aws:s3:::shared/*"]})),
    ("a Sid of letters and digits (IAM: \"ASCII uppercase letters (A-Z), lowercase letters (a-z), and numbers\")",
     SCP, doc(deny(Sid="DenyRoot2"))),
    ("an RCP with NotResource (RCP syntax: NotResource is supported)", RCP,
     doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::public/*"})),
    ("an RCP: Deny, with Principal and Resource", RCP,
     doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
          "Condition": {"Bool": {"aws:SecureTransport": "false"}}})),
]

INVALID = [
    ("Effect must be Allow or Deny; statements are counted from 0",
     SCP, doc(deny(), {"Effect": "Permit", "Action": "*"}),
     'spec.document.Statement[1].Effect: must be Allow or Deny, got "Permit"'),
    ("Version is required", SCP, {"Statement": [deny()]}, 'spec.document.Version: is required'),
    ("an unquoted YAML date is not a Version string", SCP,
     {"Version": datetime.date(2012, 10, 17), "Statement": [deny()]}, "a YAML date: quote it"),
    ("Statement is required", SCP, {"Version": "2012-10-17"}, "spec.document.Statement: is required"),
    ("an empty Statement list", SCP, doc(), "spec.document.Statement: must not be empty"),
    ("Statement of the wrong type", SCP, {"Version": "2012-10-17", "Statement": "deny all"},
     "spec.document.Statement: must be an object or a list of objects, got a string"),
    ("unknown top-level element", SCP, doc(deny(), Statements=[]), "spec.document.Statements: unknown element"),
    ("unknown statement element (typo)", SCP, doc(deny(Actions="*")), "spec.document.Statement[0].Actions: unknown"),
    ("both Action and NotAction", SCP, doc(deny(NotAction="iam:*")),
     "spec.document.Statement[0].NotAction: a statement has exactly one of Action and NotAction"),
    ("neither Action nor NotAction", SCP, doc({"Effect": "Deny", "Resource": "*"}),
     "spec.document.Statement[0].Action: is required (or NotAction)"),
    ("an action without its service prefix", SCP, doc(deny(Action=["s3:GetObject", "GetObject"])),
     'spec.document.Statement[0].Action[1]: must be "*" or "service:Action"'),
    ("an empty Action list", SCP, doc(deny(Action=[])), "spec.document.Statement[0].Action: must not be an empty"),
    ("Resource must be strings", SCP, doc(deny(Resource=5)), "spec.document.Statement[0].Resource: must be a non"),
    ("Sid must be a string", SCP, doc(deny(Sid=1)), "spec.document.Statement[0].Sid: must be a string"),
    ("IAM's Sid: letters and digits only, no dash", SCP, doc(deny(Sid="deny-root")),
     "spec.document.Statement[0].Sid: may contain only letters A-Z and a-z and digits 0-9"),
    ("IAM's Sid: no spaces", SCP, doc(deny(Sid="Deny root")), "spec.document.Statement[0].Sid: may contain only"),
    ("RCP syntax: NotAction is not supported", RCP,
     doc({"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}),
     "spec.document.Statement[0].NotAction: not supported in a resource control policy"),
    ("RCP syntax: Principal \"Only * is supported\"", RCP,
     doc({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "s3:*",
          "Resource": "*"}), "spec.document.Statement[0].Principal: must be"),
    ("SCP syntax: an SCP has no Principal, not even in an Allow", SCP,
     doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
     "spec.document.Statement[0].Principal: not allowed"),
    ("SCPs have no Principal", SCP, doc(deny(Principal="*")), "spec.document.Statement[0].Principal: not allowed"),
    ("Condition must be a map of operator -> map", SCP, doc(deny(Condition=["x"])),
     "spec.document.Statement[0].Condition: must be an object"),
    ("Condition operator blocks must be maps", SCP, doc(deny(Condition={"StringLike": "arn:aws:iam::*:root"})),
     "spec.document.Statement[0].Condition.StringLike: must be a non-empty object"),
    ("unknown condition operator (typo)", SCP, doc(deny(Condition={"StringEqual": {"aws:x": "y"}})),
     "spec.document.Statement[0].Condition.StringEqual: unknown condition operator"),
    ("condition values are scalars or lists of them", SCP, doc(deny(Condition={"StringLike": {"aws:x": {"a": 1}}})),
     "spec.document.Statement[0].Condition.StringLike.aws:x: must be a string"),
    ("a statement must be an object", SCP, doc("Deny everything"),
     "spec.document.Statement[0]: a statement must be an object"),
    ("custom RCPs can only deny", RCP, doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
     "spec.document.Statement[0].Effect: must be Deny"),
    ("RCPs need a Principal", RCP, doc(deny()), "spec.document.Statement[0].Principal: is required"),
    ("RCPs need a Resource", RCP, doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*"}),
     "spec.document.Statement[0].Resource: is required"),
]


@pytest.mark.parametrize(("reason", "ptype", "document"), VALID, ids=[c[0] for c in VALID])
def test_valid_documents(reason: str, ptype: str, document: dict[str, Any]) -> None:
    assert validate_document(ptype, document) == []
    check_policy_document(ptype, minify(document))  # and AWS (the strict sandbox) agrees


@pytest.mark.parametrize(("reason", "ptype", "document", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_documents_name_the_field(reason: str, ptype: str, document: dict[str, Any], message: str) -> None:
    problems = validate_document(ptype, document)
    assert any(message in p for p in problems), problems
    try:
        content = minify(document)
    except TypeError:
        return  # a YAML date is not even JSON: nothing AWS could be sent
    if "service:Action" in message or "condition" in message.lower() or "Sid" in message or "Resource: must" in message:
        return  # stricter than the sandbox (AWS's IAM grammar checks these too)
    with pytest.raises(OrganizationsError):
        check_policy_document(ptype, content)
        if ptype == RCP:
            aws_limits.check_rcp(content)  # the sandbox's RCP elements and services (a check before the rule)


def test_every_problem_is_reported_at_once() -> None:
    problems = validate_document(SCP, doc({"Effect": "Permit"}, {"Effect": "Deny", "Action": "x"}))
    assert [p.split(":")[0] for p in problems] == [
        "spec.document.Statement[0].Effect", "spec.document.Statement[0].Action", "spec.document.Statement[1].Action",
    ]


def test_size_limit_gives_the_size_and_the_limit() -> None:
    big = doc(deny(Action=[f"s3:Action{i:04d}" for i in range(800)]))
    size = len(minify(big))
    assert size > 10240
    [problem] = validate_document(SCP, big)
    assert problem.startswith("spec.document: ")
    assert f"{size:,} characters" in problem and "10,240" in problem and "scp-characters" in problem
    with pytest.raises(OrganizationsError, match="maximum size"):
        check_policy_document(SCP, minify(big))


def test_size_at_the_limit_is_accepted() -> None:
    base = doc(deny(Sid=""))
    pad = 10240 - len(minify(base))
    exact = doc(deny(Sid="x" * pad))
    assert len(minify(exact)) == 10240
    assert validate_document(SCP, exact) == []
    assert validate_document(SCP, doc(deny(Sid="x" * (pad + 1)))) != []


def test_minify_keeps_key_order_and_has_no_whitespace() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]}
    assert minify(document) == (
        '{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}'
    )


@pytest.mark.parametrize(
    ("reason", "desired", "actual", "same"),
    [
        ("key order and whitespace do not matter", '{"a":1,"b":[1,2]}', '{ "b": [1, 2],\n "a": 1 }', True),
        ("list order matters", '{"b":[1,2]}', '{"b":[2,1]}', False),
        ("a value changed", '{"a":"Deny"}', '{"a":"Allow"}', False),
        ("content not read (AWS managed): unknown, not different", '{"a":1}', None, None),
        ("unparseable content in AWS is different", '{"a":1}', "{nope", False),
    ],
)
def test_same_content_is_semantic(reason: str, desired: str, actual: str | None, same: bool | None) -> None:
    assert same_content(desired, actual) is same
