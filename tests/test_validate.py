"""``awsorg validate``: offline checks of a landing zone's YAML (schemas and rules that span objects)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import limits
from controller.cli import main
from controller.planner.orgunit import MAX_OU_DEPTH, DesiredOU, plan_orgunit
from controller.planner.policy import DesiredPolicy, PolicyTarget, plan_policy
from controller.state import ObservedOU, ObservedPolicy, OrgSnapshot
from controller.workflow.safeyaml import allowed_alias_ratio
from controller.workflow.validate import Finding, Report, format_github, validate_paths

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEAD = "apiVersion: awsorg.gitops.dev/v1alpha1\n"
DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, api: str = "awsorg.gitops.dev/v1alpha1") -> str:
    body: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec or {}}
    return yaml.safe_dump(body, sort_keys=False)


def docs(*objects: str) -> str:
    return "---\n".join(objects)


def scp(object_name: str, targets: dict[str, Any], **spec: Any) -> str:
    return obj("ServiceControlPolicy", object_name, {"document": DOCUMENT, "targets": targets, **spec})


# One of each mistake; every other object is valid.
OUS = docs(
    obj("OrgUnit", "base", {"name": "Base"}),
    # schema: enum, maxLength, CEL rule (one of parentRef/parentId), unknown field
    obj("OrgUnit", "bad-enum", {"deletionPolicy": "Keep"}),
    obj("OrgUnit", "too-long", {"name": "x" * 129}),
    obj("OrgUnit", "both-parents", {"parentRef": {"name": "base"}, "parentId": "r-abcd"}),
    obj("OrgUnit", "typo", {"parentref": {"name": "base"}}),
    # reference to nothing
    obj("OrgUnit", "orphan", {"parentRef": {"name": "nowhere"}}),
    # a cycle of two
    obj("OrgUnit", "loop-a", {"parentRef": {"name": "loop-b"}}),
    obj("OrgUnit", "loop-b", {"parentRef": {"name": "loop-a"}}),
    # six levels of nesting
    obj("OrgUnit", "level-1"),
    *(obj("OrgUnit", f"level-{i}", {"parentRef": {"name": f"level-{i - 1}"}}) for i in range(2, 7)),
    # the same AWS name twice under one parent (base)
    obj("OrgUnit", "team-a", {"name": "Team", "parentRef": {"name": "base"}}),
    obj("OrgUnit", "team-b", {"name": "Team", "parentRef": {"name": "base"}}),
    # the same AWS name under different parents is fine
    obj("OrgUnit", "team-c", {"name": "Team", "parentRef": {"name": "level-1"}}),
    # duplicate metadata.name
    obj("OrgUnit", "base", {"name": "Base Again"}),
)
ACCOUNTS = docs(
    obj("AwsAccount", "good", {"accountName": "Good", "email": "good@example.com", "orgUnitRef": {"name": "base"}}),
    # schema: pattern, required
    obj("AwsAccount", "bad-email", {"accountName": "Bad", "email": "not-an-email"}),
    obj("AwsAccount", "no-name", {"email": "no-name@example.com"}),
    # reference to nothing
    obj("AwsAccount", "lost", {"accountName": "Lost", "email": "lost@example.com", "orgUnitRef": {"name": "gone"}}),
    # the same email, in another case
    obj("AwsAccount", "copy", {"accountName": "Copy", "email": "GOOD@example.com"}),
)
POLICIES = docs(
    # eleven SCPs on one OrgUnit: the eleventh is one too many (10 since 2026-05-15)
    *(scp(f"scp-{i}", {"orgUnitRefs": [{"name": "level-1"}]}) for i in range(1, 11)),  # 10: with FullAWSAccess, 11
    # targets that do not exist
    scp("stray", {"orgUnitRefs": [{"name": "missing-ou"}], "accountRefs": [{"name": "missing-account"}]}),
    # the same AWS name for one type; the same name for another type is fine
    scp("first", {}, name="Guardrail"),
    scp("second", {}, name="Guardrail"),
    scp("other-type", {}, name="Guardrail", type="RESOURCE_CONTROL_POLICY",
        document={"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
    # a document AWS refuses
    obj("ServiceControlPolicy", "bad-document", {"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]}}),
    # an unknown kind of our group; other groups' kinds are ignored
    obj("Widget", "w"),
    obj("ConfigMap", "settings", api="v1"),
    obj("OrgUnit", "not-ours", api="example.com/v1"),
)

EXPECTED = {
    ("OrgUnit/bad-enum", "spec.deletionPolicy"),
    ("OrgUnit/too-long", "spec.name"),
    ("OrgUnit/both-parents", "spec.parentId"),
    ("OrgUnit/typo", "spec.parentref"),
    ("OrgUnit/orphan", "spec.parentRef.name"),
    ("OrgUnit/loop-a", "spec.parentRef.name"),
    ("OrgUnit/level-6", "spec.parentRef.name"),
    ("OrgUnit/team-b", "spec.name"),
    ("OrgUnit/base", "metadata.name"),
    ("AwsAccount/bad-email", "spec.email"),
    ("AwsAccount/no-name", "spec.accountName"),
    ("AwsAccount/lost", "spec.orgUnitRef.name"),
    ("AwsAccount/copy", "spec.email"),
    ("ServiceControlPolicy/scp-10", "spec.targets.orgUnitRefs[0].name"),
    ("ServiceControlPolicy/stray", "spec.targets.orgUnitRefs[0].name"),
    ("ServiceControlPolicy/stray", "spec.targets.accountRefs[0].name"),
    ("ServiceControlPolicy/second", "spec.name"),
    ("ServiceControlPolicy/bad-document", "spec.document.Statement[0].Effect"),
    ("Widget/w", "kind"),
}


@pytest.fixture
def mistakes(tmp_path: Path) -> Path:
    root = tmp_path / "landing-zone"
    (root / "policies").mkdir(parents=True)
    (root / "00-orgunits.yaml").write_text(OUS)
    (root / "10-accounts.yml").write_text(ACCOUNTS)
    (root / "policies" / "guardrails.yaml").write_text(POLICIES)
    (root / "README.md").write_text("not YAML, not read")
    return root


def _findings(report: Report) -> dict[tuple[str, str], Finding]:
    found: dict[tuple[str, str], Finding] = {}
    for f in report.findings:
        assert (f.object, f.field) not in found, f"two findings for one mistake: {f}"
        found[(f.object, f.field)] = f
    return found


def test_each_mistake_is_one_finding_that_says_what_is_allowed(mistakes: Path) -> None:
    report = validate_paths([mistakes])
    found = _findings(report)
    assert set(found) == EXPECTED
    assert report.exit_code == 1
    assert report.objects == 38  # our kinds only: the ConfigMap and the other group's OrgUnit are ignored
    for f in report.findings:
        what, sep, allowed = f.message.partition("; allowed: ")
        assert sep and what.strip() and allowed.strip(), f.message
        assert f.severity == "error"
        assert f.file.endswith((".yaml", ".yml")) and f.line > 0

    def message(kind_name: str, field: str) -> str:
        return found[(kind_name, field)].message

    assert '"Delete", "Retain"' in message("OrgUnit/bad-enum", "spec.deletionPolicy")
    assert "128" in message("OrgUnit/too-long", "spec.name")
    assert "at most one of parentRef and parentId" in message("OrgUnit/both-parents", "spec.parentId")
    assert "parentRef" in message("OrgUnit/typo", "spec.parentref")
    assert "'nowhere'" in message("OrgUnit/orphan", "spec.parentRef.name")
    assert "base" in message("OrgUnit/orphan", "spec.parentRef.name")  # the names that exist
    assert "loop-a -> loop-b -> loop-a" in message("OrgUnit/loop-a", "spec.parentRef.name")
    level6 = message("OrgUnit/level-6", "spec.parentRef.name")
    assert "6 levels" in level6 and "at most 5 levels" in level6
    assert "'Team'" in message("OrgUnit/team-b", "spec.name")
    assert "defined twice" in message("OrgUnit/base", "metadata.name")
    assert "email address" in message("AwsAccount/bad-email", "spec.email")
    assert "required" in message("AwsAccount/no-name", "spec.accountName")
    assert "good" in message("AwsAccount/copy", "spec.email") and "case-insensitive" in message(
        "AwsAccount/copy", "spec.email")
    too_many = message("ServiceControlPolicy/scp-10", "spec.targets.orgUnitRefs[0].name")
    declared = ", ".join(f"scp-{i}" for i in range(1, 11))
    assert (f"11 SCPs on OrgUnit 'level-1' (10 declared: {declared} + FullAWSAccess, which AWS attaches to every "
            "target); AWS allows at most 10 SCPs per target since 2026-05-15") in too_many, too_many
    assert "at most 10 service control policies per target, the AWS managed FullAWSAccess included" in too_many
    assert "scps-per-target" in too_many
    assert "DuplicatePolicyException" in message("ServiceControlPolicy/second", "spec.name")
    assert "Allow or Deny" in message("ServiceControlPolicy/bad-document", "spec.document.Statement[0].Effect")
    assert "OrgUnit, AwsAccount, ServiceControlPolicy" in message("Widget/w", "kind")


def test_findings_point_at_the_line_of_the_field(mistakes: Path) -> None:
    found = _findings(validate_paths([mistakes]))
    orphan = found[("OrgUnit/orphan", "spec.parentRef.name")]
    assert orphan.file.endswith("landing-zone/00-orgunits.yaml")
    lines = OUS.splitlines()
    assert lines[orphan.line - 1].strip() == "name: nowhere"
    copy = found[("AwsAccount/copy", "spec.email")]
    assert ACCOUNTS.splitlines()[copy.line - 1].strip() == "email: GOOD@example.com"
    # A document without the field: the line of its nearest ancestor.
    no_name = found[("AwsAccount/no-name", "spec.accountName")]
    assert ACCOUNTS.splitlines()[no_name.line - 1] == "spec:"


def test_cli_text_output_and_exit_code(mistakes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(mistakes)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(EXPECTED) + 1
    pattern = re.compile(
        r"^(?P<file>\S+\.ya?ml):(?P<line>\d+): (?P<object>\w+/[\w.-]+): (?P<field>\S+): .+; allowed: .+"
    )
    pairs = set()
    for line in lines[:-1]:
        m = pattern.match(line)
        assert m, line
        pairs.add((m["object"], m["field"]))
    assert pairs == EXPECTED
    assert lines[-1] == f"awsorg validate: {len(EXPECTED)} errors in 38 objects in 3 files"


def test_json_output(mistakes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--output", "json", str(mistakes)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and len(data) == len(EXPECTED)
    for item in data:
        assert set(item) == {"file", "line", "kind", "name", "field", "message", "severity"}
        assert isinstance(item["line"], int) and item["severity"] == "error"
    assert {(f"{i['kind']}/{i['name']}", i["field"]) for i in data} == EXPECTED


def test_github_output(mistakes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--output", "github", str(mistakes)]) == 1
    lines = capsys.readouterr().out.splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == len(EXPECTED)
    for line in annotations:
        assert re.match(r"^::error file=[^,:]+\.ya?ml,line=\d+,title=[^,:]+::\S.*$", line), line
    assert not lines[-1].startswith("::")  # the summary


def test_github_output_escapes_workflow_command_characters() -> None:
    finding = Finding("a,b:c.yaml", 3, "OrgUnit", "x", "spec.tags.a:b", "100% wrong\nreally; allowed: x")
    out = format_github(Report(findings=[finding], files=["a,b:c.yaml"], objects=1))
    assert out.splitlines()[0] == (
        "::error file=a%2Cb%3Ac.yaml,line=3,title=OrgUnit/x spec.tags.a%3Ab::100%25 wrong%0Areally; allowed: x"
    )


def test_examples_validate_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("no problems found"), out
    assert main(["validate", "--output", "json", str(EXAMPLES)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yaml").write_text(obj("OrgUnit", "fine"))
    (tmp_path / "broken.yaml").write_text(obj("OrgUnit", "before") + "---\n" + HEAD + "kind: OrgUnit\nmetadata:\n"
                                          "  name: broken\nspec:\n  tags: {a: b\n  name: x\n")
    report = validate_paths([tmp_path])
    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.file.endswith("broken.yaml")
    text = (tmp_path / "broken.yaml").read_text().splitlines()
    assert finding.line in (text.index("  tags: {a: b") + 1, text.index("  name: x") + 1)
    assert "YAML does not parse" in finding.message and "; allowed: " in finding.message
    assert main(["validate", str(tmp_path)]) == 1
    assert f"broken.yaml:{finding.line}: YAML does not parse" in capsys.readouterr().out


def test_other_checks(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(docs(
        obj("OrgUnit", "Upper"),
        obj("OrgUnit", "old", api="awsorg.gitops.dev/v1"),
        "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OrgUnit\nmetadata: {name: twice}\nspec: {name: A, name: B}\n",
        obj("OrgUnit", "reserved", {"tags": {"aws:cloudformation:stack": "x"}}),
        obj("AwsAccount", "one", {"accountName": "One", "email": "one@example.com", "accountId": "111111111111"}),
        obj("AwsAccount", "two", {"accountName": "Two", "email": "two@example.com", "accountId": "111111111111"}),
        obj("OrgUnit", "deep", {"parentId": "ou-abcd-12345678"}),
        obj("ServiceControlPolicy", "huge", {"document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": [f"s3:Action{i:04d}" for i in range(800)], "Resource": "*"}]}}),
    ))
    found = _findings(validate_paths([tmp_path]))
    assert set(found) == {
        ("OrgUnit/Upper", "metadata.name"),
        ("OrgUnit/old", "apiVersion"),
        ("OrgUnit/twice", "spec.name"),
        ("OrgUnit/reserved", "spec.tags.aws:cloudformation:stack"),
        ("AwsAccount/two", "spec.accountId"),
        ("ServiceControlPolicy/huge", "spec.document"),
    }
    assert "10,240" in found[("ServiceControlPolicy/huge", "spec.document")].message
    assert "v1alpha1" in found[("OrgUnit/old", "apiVersion")].message


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "no such file or directory" in capsys.readouterr().out


def test_example_github_workflow_runs_validate_and_plan() -> None:
    workflow = yaml.safe_load((EXAMPLES.parent / "docs" / "examples" / "github-workflow.yaml").read_text())
    assert "pull_request" in workflow["on"]
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(r.startswith("pip install") for r in runs)
    assert 'awsorg validate --base "origin/${{ github.base_ref }}" --output github .' in runs
    validate_job = workflow["jobs"]["validate"]["steps"]
    assert validate_job[0]["with"]["fetch-depth"] == 0  # origin/<base> is there to compare with
    assert any("awsorg plan --base" in r and "--output markdown" in r for r in runs)
    # The same command line the workflow uses parses here.
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--output", "github", "--help"])
    assert exit_info.value.code == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--base", "origin/main", "--output", "github", "--help"])
    assert exit_info.value.code == 0


def test_the_organization_kind_is_validated(tmp_path: Path) -> None:
    """The singleton's name, references to accounts, and a delegated administrator's service among the trusted
    services."""
    (tmp_path / "org.yaml").write_text(docs(
        obj("AwsAccount", "shared", {"accountName": "Shared", "email": "shared@example.com"}),
        obj("Organization", "organization", {
            "trustedServices": ["cloudtrail.amazonaws.com"],
            "delegatedAdministrators": [{"accountRef": {"name": "shared"}, "servicePrincipal": "config.amazonaws.com"},
                                        {"accountRef": {"name": "nobody"},
                                         "servicePrincipal": "cloudtrail.amazonaws.com"}]}),
        obj("Organization", "second", {}),
    ))
    report = validate_paths([tmp_path])
    found = {(f.name, f.field) for f in report.findings}
    assert ("organization", "spec.delegatedAdministrators[0].servicePrincipal") in found
    assert ("organization", "spec.delegatedAdministrators[1].accountRef.name") in found
    assert ("second", "metadata.name") in found
    assert len(found) == 3, report.findings


@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"trustedServices": ["s3.amazonaws.com"],
      "delegatedAdministrators": [{"accountId": "210987654321", "servicePrincipal": "s3.amazonaws.com"}]},
     "spec.delegatedAdministrators[0].servicePrincipal", "config.amazonaws.com"),  # allowed: the supported ones
    ({"accessRole": {"roleName": "OrganizationAccountAccessRole",
                     "trustedPrincipals": ["arn:aws:iam::123456789012:root"]}},
     "spec.accessRole.roleName", "any other IAM role name than 'OrganizationAccountAccessRole'"),
    ({"accessRole": {"roleName": "Engineer", "trustedPrincipals": ["arn:aws:iam::123456789012:group/admins"]}},
     "spec.accessRole.trustedPrincipals[0]", "a role (arn:aws:iam::123456789012:role/Name)"),
    ({"accessRole": {"roleName": "Engineer", "trustedPrincipals": ["arn:aws:iam::123456789012:root",
                                                                   "arn:aws:iam::123456789012:role/ops-*"]}},
     "spec.accessRole.trustedPrincipals[1]", "without wildcards"),
], ids=["no-delegation-for-s3", "the-operators-own-role", "a-group-is-no-principal", "a-wildcard-in-a-role"])
def test_organization_rules_the_operator_applies(tmp_path: Path, spec: dict[str, Any], field: str, words: str) -> None:
    """What the operator would refuse (or AWS answer with an error) is found before the merge: a delegated
    administrator for a service without delegation (the planner's list, which the sandbox enforces too), the role
    the operator assumes in member accounts as the access role, a principal IAM refuses in a trust policy."""
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", spec))
    report = validate_paths([tmp_path])
    assert [(f.field, words in f.message) for f in report.findings] == [(field, True)], report.findings


MGMT_ROOT = "arn:aws:iam::123456789012:root"


def _role(**extra: Any) -> dict[str, Any]:
    return {"accessRole": {"roleName": "Engineer", "trustedPrincipals": [MGMT_ROOT], **extra}}


def _conditions(n: int, value: str = "o-abc123") -> list[dict[str, Any]]:
    return [{"operator": "StringEquals", "key": f"aws:PrincipalTag/k{i}", "values": [value]} for i in range(n)]


@pytest.mark.parametrize(("spec", "field", "words"), [
    (_role(conditions=_conditions(21)), "spec.accessRole.conditions", "at most 20"),
    (_role(conditions=[{"operator": "StringEqual", "key": "aws:PrincipalOrgID", "values": ["o-abc123"]}]),
     "spec.accessRole.conditions[0].operator", "an IAM condition operator"),
    (_role(conditions=[{"operator": "NullIfExists", "key": "sts:ExternalId", "values": ["false"]}]),
     "spec.accessRole.conditions[0].operator", "not on Null"),
    (_role(conditions=[{"operator": "Bool", "key": "MultiFactorAuthPresent", "values": ["true"]}]),
     "spec.accessRole.conditions[0].key", "service:name"),
    (_role(conditions=[{"operator": "Bool", "key": "aws:MultiFactorAuthPresent", "values": []}]),
     "spec.accessRole.conditions[0].values", "at least 1"),
    (_role(conditions=[{"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": ["o-1"]},
                       {"operator": "StringEquals", "key": "AWS:principalorgid", "values": ["o-2"]}]),
     "spec.accessRole.conditions", "list the values together"),
    (_role(conditions=[{"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": ["o-1"]},
                       {"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": ["o-2"]}]),
     "spec.accessRole.conditions", "list the values together"),
    (_role(maxSessionDuration=900), "spec.accessRole.maxSessionDuration", "3600"),
    (_role(maxSessionDuration=43201), "spec.accessRole.maxSessionDuration", "43200"),
    (_role(conditions=_conditions(20, "v" * 100)), "spec.accessRole", "IAM allows 2048"),
], ids=["21-conditions", "unknown-operator", "ifexists-on-null", "key-without-service", "no-values",
        "one-operator-and-key-twice", "spelt-alike-the-crds-rule", "session-too-short", "session-too-long",
        "trust-policy-too-long"])
def test_the_access_roles_conditions_and_session(tmp_path: Path, spec: dict[str, Any], field: str,
                                                 words: str) -> None:
    """What IAM (or the CRD) would refuse in accessRole's conditions and maxSessionDuration is found before the
    merge: the count, the operators, the ranges, and the trust policy's length as IAM counts it."""
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", spec))
    report = validate_paths([tmp_path])
    assert [(f.field, words in f.message) for f in report.findings] == [(field, True)], report.findings


def test_an_access_role_with_conditions_and_a_session_passes(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", _role(conditions=[
        {"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": ["o-abc123"]},
        {"operator": "Bool", "key": "aws:MultiFactorAuthPresent", "values": ["true"]},
        {"operator": "ForAnyValue:StringLikeIfExists", "key": "aws:PrincipalTag/team", "values": ["a*", "b*"]}],
        maxSessionDuration=43200)))
    assert validate_paths([tmp_path]).findings == []


def test_well_formed_organization_passes(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", {
        "trustedServices": ["config.amazonaws.com"],
        "delegatedAdministrators": [{"accountId": "210987654321", "servicePrincipal": "config.amazonaws.com"}],
        "accessRole": {"roleName": "Engineer", "trustedPrincipals": [
            "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/teams/Ops",
            "arn:aws:iam::123456789012:user/alice"]}}))
    assert validate_paths([tmp_path]).findings == []


# ------------------------------------------------------------------------------------------ hostile files


def test_a_document_that_is_not_a_mapping_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = docs(obj("OrgUnit", "fine"), "- a\n- list\n", "just a string\n", "42\n", "---\n# only a comment\n")
    (tmp_path / "x.yaml").write_text(text)
    report = validate_paths([tmp_path])
    lines = text.splitlines()
    found = [(f.line, f.message) for f in report.findings]
    assert [line for line, _ in found] == [lines.index("- a") + 1, lines.index("just a string") + 1,
                                           lines.index("42") + 1], found
    for f in report.findings:
        assert f.file.endswith("x.yaml") and f.severity == "error"
        assert "a Kubernetes object must be a mapping with apiVersion, kind, metadata" in f.message
        assert "; allowed: " in f.message
    assert "a list" in found[0][1] and "'just a string'" in found[1][1] and "42" in found[2][1]
    assert report.objects == 1 and report.exit_code == 1
    assert main(["validate", str(tmp_path)]) == 1
    assert f"x.yaml:{lines.index('- a') + 1}: the document is a list, not a mapping" in capsys.readouterr().out


def test_empty_documents_are_nothing(tmp_path: Path) -> None:
    """``---`` alone, ``~`` and comments are empty documents, as kubectl reads them: no finding."""
    (tmp_path / "x.yaml").write_text("---\n# a comment\n---\n" + obj("OrgUnit", "fine") + "---\n~\n---\n")
    report = validate_paths([tmp_path])
    assert report.findings == [] and report.objects == 1


BILLION_LAUGHS = """\
apiVersion: awsorg.gitops.dev/v1alpha1
kind: OrgUnit
metadata:
  name: lol
  labels:
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
spec:
  name: Lol
"""


@pytest.mark.timeout(10)
def test_billion_laughs_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """10^9 "lol"s when expanded; refused from the node graph, as kubectl refuses it ("excessive aliasing")."""
    config_map = BILLION_LAUGHS.replace("awsorg.gitops.dev/v1alpha1", "v1").replace("OrgUnit", "ConfigMap")
    after = obj("OrgUnit", "after", {"deletionPolicy": "Keep"})
    (tmp_path / "lol.yaml").write_text(docs(BILLION_LAUGHS, config_map, after))
    report = validate_paths([tmp_path])
    bombs = [f for f in report.findings if "excessive aliasing" in f.message]
    assert len(bombs) == 2, report.findings  # whatever the kind: kubectl would refuse either
    lines = (tmp_path / "lol.yaml").read_text().splitlines()
    for bomb in bombs:
        assert lines[bomb.line - 1].strip().startswith(("c:", "d:", "e:")), lines[bomb.line - 1]
        assert "billion laughs" in bomb.message and "kubectl" in bomb.message and "; allowed: " in bomb.message
    # The documents after a bomb are read and checked.
    assert ("OrgUnit/after", "spec.deletionPolicy") in {(f.object, f.field) for f in report.findings}
    assert main(["validate", str(tmp_path)]) == 1
    assert "excessive aliasing" in capsys.readouterr().out


@pytest.mark.timeout(10)
def test_a_recursive_anchor_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(HEAD + "kind: OrgUnit\nmetadata:\n  name: loop\n  labels: &x {a: *x}\n"
                                     "---\n- &y [*y]\n")
    report = validate_paths([tmp_path])
    assert [(f.line, "recursive structure" in f.message) for f in report.findings] == [(5, True), (7, True)]


def test_modest_aliases_are_fine(tmp_path: Path) -> None:
    """Anchors reused many times are what people write: accepted, and read as the values they stand for."""
    statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    text = (HEAD + "kind: ServiceControlPolicy\nmetadata: {name: many}\nspec:\n  document:\n"
            "    Version: '2012-10-17'\n    Statement:\n      - &s " + json.dumps(statement) + "\n"
            + "      - *s\n" * 90)
    (tmp_path / "x.yaml").write_text(text)
    report = validate_paths([tmp_path])
    assert report.findings == [] and report.objects == 1


def test_nesting_too_deep_to_read_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(obj("OrgUnit", "fine") + "---\n" + "[" * 1000 + "]" * 1000 + "\n")
    report = validate_paths([tmp_path])
    assert len(report.findings) == 1 and "nested too deeply" in report.findings[0].message


def test_alias_ratio_is_go_yamls() -> None:
    assert allowed_alias_ratio(1_000) == 0.99
    assert allowed_alias_ratio(400_000) == 0.99
    assert allowed_alias_ratio(2_200_000) == pytest.approx(0.545)
    assert allowed_alias_ratio(4_000_000) == 0.10
    assert allowed_alias_ratio(10**9) == 0.10


@pytest.mark.parametrize("layout", ["empty directory", "no yaml files", "comments only", "empty documents",
                                    "only hidden directories"])
def test_a_path_without_manifests_is_an_error(layout: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped path in CI (or an export that wrote nothing) fails instead of passing as "no problems found"."""
    root = tmp_path / "landing-zone"
    root.mkdir()
    if layout == "no yaml files":
        (root / "README.md").write_text("apiVersion: not YAML by its name\n")
        (root / "orgunits.json").write_text("{}\n")
    elif layout == "comments only":
        (root / "a.yaml").write_text("# nothing yet\n")
    elif layout == "empty documents":
        (root / "a.yaml").write_text("---\n---\n~\n")
        (root / "b.yml").write_text("")
    elif layout == "only hidden directories":
        (root / ".github").mkdir()
        (root / ".github" / "ci.yaml").write_text(obj("OrgUnit", "hidden"))
    report = validate_paths([root])
    assert len(report.findings) == 1, report.findings
    finding = report.findings[0]
    assert finding.file == str(root) and finding.severity == "error"
    assert "nothing to validate" in finding.message and "; allowed: " in finding.message
    assert report.exit_code == 1
    assert main(["validate", str(root)]) == 1
    assert "nothing to validate" in capsys.readouterr().out
    assert main(["validate", "--output", "github", str(root)]) == 1
    assert f"::error file={root}," in capsys.readouterr().out


def test_a_file_without_documents_is_an_error_when_named_but_not_inside_a_directory(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(obj("OrgUnit", "fine"))
    (tmp_path / "placeholder.yaml").write_text("# more to come\n")
    assert validate_paths([tmp_path]).findings == []  # the directory has objects
    report = validate_paths([tmp_path / "objects.yaml", tmp_path / "placeholder.yaml"])
    assert [(f.file, "no YAML documents in this file" in f.message) for f in report.findings] == [
        (str(tmp_path / "placeholder.yaml"), True)]


def test_a_file_under_two_paths_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(obj("OrgUnit", "fine"))
    report = validate_paths([tmp_path, tmp_path / "objects.yaml"])
    assert report.findings == [] and report.objects == 1


# ------------------------------------------------------------------------------------------ --base


ACCT = "AwsAccount"
SCP = "ServiceControlPolicy"
BEFORE = {
    "01-early.yaml": docs(obj(ACCT, "delta", {"accountName": "Delta", "email": "delta@example.com"})),
    "10-objects.yaml": docs(
        obj("OrgUnit", "parent"),
        obj("OrgUnit", "team-a", {"name": "Team", "parentRef": {"name": "parent"}}),
        obj("OrgUnit", "dup", {"name": "Dup"}),
        obj(ACCT, "alpha", {"accountName": "Alpha", "email": "alpha@example.com", "accountId": "111111111111"}),
        obj(ACCT, "gamma", {"accountName": "Gamma", "email": "gamma@example.com"}),
        scp("guard-a", {}, name="Guardrail"),
    ),
}
# The change: a new file sorted first, with a duplicate of each kind; and delta's email edited to gamma's.
CHANGED = {
    **BEFORE,
    "01-early.yaml": docs(obj(ACCT, "delta", {"accountName": "Delta", "email": "Gamma@example.com"})),
    "05-new.yaml": docs(
        obj("OrgUnit", "team-b", {"name": "Team", "parentRef": {"name": "parent"}}),
        obj("OrgUnit", "dup", {"name": "Dup Copy"}),
        obj(ACCT, "beta", {"accountName": "Beta", "email": "ALPHA@example.com", "accountId": "111111111111"}),
        scp("guard-b", {}, name="Guardrail"),
    ),
}
BLAMED_WITHOUT_BASE = {
    ("10-objects.yaml", "OrgUnit/team-a", "spec.name"), ("10-objects.yaml", "OrgUnit/dup", "metadata.name"),
    ("10-objects.yaml", "AwsAccount/alpha", "spec.email"), ("10-objects.yaml", "AwsAccount/alpha", "spec.accountId"),
    ("10-objects.yaml", "AwsAccount/gamma", "spec.email"), ("10-objects.yaml", "ServiceControlPolicy/guard-a",
                                                            "spec.name"),
}
BLAMED_WITH_BASE = {
    ("05-new.yaml", "OrgUnit/team-b", "spec.name"), ("05-new.yaml", "OrgUnit/dup", "metadata.name"),
    ("05-new.yaml", "AwsAccount/beta", "spec.email"), ("05-new.yaml", "AwsAccount/beta", "spec.accountId"),
    ("01-early.yaml", "AwsAccount/delta", "spec.email"), ("05-new.yaml", "ServiceControlPolicy/guard-b", "spec.name"),
}


def _write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _blamed(report: Report) -> set[tuple[str, str, str]]:
    return {(Path(f.file).name, f.object, f.field) for f in report.findings}


def test_base_blames_a_duplicate_on_the_object_the_change_introduced(tmp_path: Path) -> None:
    before = _write(tmp_path / "before", BEFORE)
    after = _write(tmp_path / "after", CHANGED)
    assert validate_paths([before]).findings == []
    assert _blamed(validate_paths([after])) == BLAMED_WITHOUT_BASE
    report = validate_paths([after], base=[before])
    assert _blamed(report) == BLAMED_WITH_BASE
    found = {(f.object, f.field): f for f in report.findings}
    new_lines = CHANGED["05-new.yaml"].splitlines()
    team_b = found[("OrgUnit/team-b", "spec.name")]
    assert new_lines[team_b.line - 1].strip() == "name: Team"
    assert "OrgUnit 'team-a'" in team_b.message and "10-objects.yaml" in team_b.message
    assert new_lines[found[("AwsAccount/beta", "spec.email")].line - 1].strip() == "email: ALPHA@example.com"
    assert "'alpha'" in found[("AwsAccount/beta", "spec.email")].message
    dup = found[("OrgUnit/dup", "metadata.name")]
    assert new_lines[dup.line - 1].strip() == "name: dup" and "defined twice" in dup.message
    delta = found[("AwsAccount/delta", "spec.email")]
    assert CHANGED["01-early.yaml"].splitlines()[delta.line - 1].strip() == "email: Gamma@example.com"
    # The rules that use one object per name use the one that was there: its parentRef still resolves.
    assert report.objects == 11


def test_base_changes_nothing_when_both_or_neither_are_new(tmp_path: Path) -> None:
    after = _write(tmp_path / "after", CHANGED)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _blamed(validate_paths([after], base=[empty])) == BLAMED_WITHOUT_BASE  # everything is new
    assert _blamed(validate_paths([after], base=[after])) == BLAMED_WITHOUT_BASE  # nothing is new


def _git(repo: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo)}
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # GIT_DIR under rebase --exec
    subprocess.run(["git", *args], cwd=repo, env={**outside, **env}, check=True, capture_output=True)


def test_base_as_a_git_revision_annotates_the_diff_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """What CI runs on a pull request: ``awsorg validate --base origin/main --output github landing-zone``."""
    repo = tmp_path / "repo"
    _write(repo / "landing-zone", BEFORE)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "landing zone")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _write(repo / "landing-zone", CHANGED)
    monkeypatch.chdir(repo / "landing-zone")  # paths relative to a subdirectory map to the same paths
    assert main(["validate", "--base", "origin/main", "--output", "github", "."]) == 1
    out = capsys.readouterr().out
    annotations = {line.split("::")[1] for line in out.splitlines() if line.startswith("::error")}
    new_lines = CHANGED["05-new.yaml"].splitlines()
    assert f"error file=05-new.yaml,line={new_lines.index('  name: Team') + 1},title=OrgUnit/team-b spec.name" \
        in annotations
    assert {a.split(",")[0] for a in annotations} == {"error file=05-new.yaml", "error file=01-early.yaml"}
    # Without --base the same duplicates land on the lines that did not change.
    assert main(["validate", "--output", "github", "."]) == 1
    assert {line.split(",")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("::")} == {
        "::error file=10-objects.yaml"}
    # A directory is a base as well; a base that is neither a path nor a revision is a usage error.
    assert main(["validate", "--base", "no-such-branch", "."]) == 2
    assert "neither a file or directory nor a revision" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the planner's own limits

RCP_DOCUMENT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
TYPES = {"SERVICE_CONTROL_POLICY": DOCUMENT, "RESOURCE_CONTROL_POLICY": RCP_DOCUMENT}


def _policies_on_one_ou(policy_type: str, count: int, first: int = 0) -> list[str]:
    return [scp(f"{policy_type[:3].lower()}-{i}", {"orgUnitRefs": [{"name": "prod"}]}, type=policy_type,
                document=TYPES[policy_type]) for i in range(first, first + count)]


@pytest.mark.parametrize("policy_type", list(TYPES))
@pytest.mark.parametrize("count", [3, 4, 5, 9, 10, 11])
def test_validate_and_the_planner_agree_on_policies_per_target(policy_type: str, count: int, tmp_path: Path) -> None:
    """One count (controller.api.limits.count_attachments): ``count`` declared policies on an OU where AWS's managed
    default (FullAWSAccess, RCPFullAWSAccess) stays attached. validate refuses the declared one that makes the
    total pass the limit, and so does the planner with the same target as the operator reads it (the default
    among what is attached)."""
    (tmp_path / "x.yaml").write_text(docs(obj("OrgUnit", "prod"), *_policies_on_one_ou(policy_type, count)))
    offline = [f for f in validate_paths([tmp_path]).findings if " per target" in f.message]
    ou = ObservedOU("ou-ab12-11111111", "arn:ou", "prod", "r-ab12")
    default = limits.AWS_MANAGED_DEFAULT[policy_type]
    attached = {f"p-{i}": ObservedPolicy(f"p-{i}", "arn:p", f"p{i}", "", policy_type, False, "{}", frozenset({ou.id}))
                for i in range(count - 1)}
    attached["p-default"] = ObservedPolicy("p-default", "arn:p", default, "", policy_type, True, None,
                                           frozenset({ou.id}))
    snapshot = OrgSnapshot("o-x", "111111111111", "r-ab12", "arn:root", ous={ou.id: ou}, policies=attached,
                           enabled_policy_types=frozenset({policy_type}))
    desired = DesiredPolicy("new", "new", policy_type, json.dumps(TYPES[policy_type]),
                            targets=(PolicyTarget(ou.id, "spec.targets.orgUnitRefs[0]"),))
    planned = plan_policy(desired, snapshot, None)
    refused = planned.blocked is not None and planned.blocked.reason == "LimitExceeded"
    assert bool(offline) == refused == (count >= limits.MAX_POLICIES_PER_TYPE[policy_type]), (offline, planned)
    assert len(offline) <= 1
    if refused:
        total = f"{count + 1} {limits.TYPE_SHORT[policy_type]} on "
        assert total in offline[0].message and total in planned.blocked.message  # type: ignore[union-attr]
        assert f"+ {default}, which AWS attaches to every target" in offline[0].message
        assert f"+ {default}, which AWS attaches to every target" in planned.blocked.message  # type: ignore[union-attr]
        assert offline[0].object == f"ServiceControlPolicy/{policy_type[:3].lower()}-" \
            f"{limits.MAX_POLICIES_PER_TYPE[policy_type] - 1}"  # the 10th declared SCP, the 5th RCP


def test_the_limit_counts_per_policy_type(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(docs(obj("OrgUnit", "prod"),
                                          *_policies_on_one_ou("SERVICE_CONTROL_POLICY", 9),
                                          *_policies_on_one_ou("RESOURCE_CONTROL_POLICY", 4)))
    assert validate_paths([tmp_path]).findings == []
    (tmp_path / "x.yaml").write_text(docs(obj("OrgUnit", "prod"), *_policies_on_one_ou("RESOURCE_CONTROL_POLICY", 5)))
    [finding] = validate_paths([tmp_path]).findings
    assert finding.object == "ServiceControlPolicy/res-4"
    assert "6 RCPs on OrgUnit 'prod' (5 declared: res-0, res-1, res-2, res-3, res-4 + RCPFullAWSAccess" in \
        finding.message, finding.message
    assert "at most 5 resource control policies" in finding.message
    assert "FullAWSAccess," not in finding.message.replace("RCPFullAWSAccess", "")  # the SCP's default is not an RCP


@pytest.mark.parametrize("levels", [4, 5, 6, 7])
def test_validate_and_the_planner_agree_on_ou_depth(levels: int, tmp_path: Path) -> None:
    """validate applies the planner's rule (controller.planner.orgunit.within_depth) to the declared tree."""
    chain = [obj("OrgUnit", "level-1")]
    chain += [obj("OrgUnit", f"level-{i}", {"parentRef": {"name": f"level-{i - 1}"}}) for i in range(2, levels + 1)]
    (tmp_path / "x.yaml").write_text(docs(*chain))
    offline = [f for f in validate_paths([tmp_path]).findings if "levels deep" in f.message]
    ous: dict[str, ObservedOU] = {}
    parent = "r-ab12"
    for i in range(1, levels):
        ous[f"ou-ab12-{i:08d}"] = ObservedOU(f"ou-ab12-{i:08d}", "arn:ou", f"level-{i}", parent)
        parent = f"ou-ab12-{i:08d}"
    snapshot = OrgSnapshot("o-x", "111111111111", "r-ab12", "arn:root", ous=ous)
    planned = plan_orgunit(DesiredOU(f"level-{levels}", f"level-{levels}", parent if ous else None), snapshot, None)
    refused = planned.blocked is not None and "nested" in planned.blocked.message
    assert bool(offline) == refused == (levels > MAX_OU_DEPTH), (offline, planned)


CONFIRM = "awsorg.gitops.dev/confirm-deletion"


def _account_doc(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> str:
    doc = {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "AwsAccount",
           "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
           "spec": {"accountName": name.title(), "email": f"{name}@example.com", **spec}}
    return yaml.safe_dump(doc)


@pytest.mark.parametrize(("spec", "annotations", "expected", "reason"), [
    ({"deletionPolicy": "Close"}, None, "spec.deletionPolicy",
     "Close without the confirmation: deleting the object will wait, so validate says so before merge"),
    ({"deletionPolicy": "RemoveFromOrganization"}, None, "spec.deletionPolicy", "RemoveFromOrganization likewise"),
    ({"deletionPolicy": "Close", "accountId": "222222222222"}, {CONFIRM: "222222222222"}, None,
     "confirmed by the account's own id: nothing to say"),
    ({"deletionPolicy": "Close", "accountId": "222222222222"}, {CONFIRM: "333333333333"},
     f"metadata.annotations.{CONFIRM}", "a confirmation naming another account confirms nothing"),
    ({}, None, None, "Retain (the default) destroys nothing: nothing to confirm"),
])
def test_close_and_remove_without_the_confirmation_are_warned(
    tmp_path: Path, spec: dict[str, Any], annotations: dict[str, str] | None, expected: str | None, reason: str
) -> None:
    (tmp_path / "a.yaml").write_text(_account_doc("dev", annotations, **spec))
    report = validate_paths([tmp_path])
    found = [(f.field, f.severity) for f in report.findings]
    assert found == ([(expected, "warning")] if expected else []), reason
    if expected:
        assert CONFIRM in report.findings[0].message, reason


def test_more_managed_policies_than_iam_attaches_to_a_role_are_refused_unless_the_quota_is_raised(
        tmp_path: Path) -> None:
    """IAM: "Managed policies attached to an IAM role: 10" (adjustable to 25; controller/api/limits.py): an eleventh
    is refused by validate (and by the operator before any call, check_access_role), naming the setting; with
    role-managed-policies=11 it passes; the CRD takes no more than 25."""
    arns = [f"arn:aws:iam::aws:policy/Policy{i}" for i in range(11)]
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", _role(managedPolicyArns=arns)))
    findings = validate_paths([tmp_path]).findings
    assert [f.field for f in findings] == ["spec.accessRole.managedPolicyArns"], findings
    assert "IAM attaches at most 10" in findings[0].message and "role-managed-policies=11" in findings[0].message
    try:
        limits.use(limits.Limits(role_managed_policies=11))
        assert validate_paths([tmp_path]).findings == []
    finally:
        limits.use(limits.Limits())
    (tmp_path / "org.yaml").write_text(obj("Organization", "organization", _role(managedPolicyArns=[
        f"arn:aws:iam::aws:policy/Policy{i}" for i in range(26)])))
    assert [f.field for f in validate_paths([tmp_path]).findings] == ["spec.accessRole.managedPolicyArns"]
