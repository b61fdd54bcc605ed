"""AWS's limits (``controller.api.limits``): each input AWS refuses is refused by ``awsorg validate`` (file, line,
field, what is allowed) and by the CRD schema the API server applies, in the same words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import limits, patterns, validation
from controller.workflow.validate import validate_paths

HEAD = {"apiVersion": "awsorg.gitops.dev/v1alpha1"}
RCP_DENY = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}}


def account(name: str, **spec: Any) -> dict[str, Any]:
    return {**HEAD, "kind": "AwsAccount", "metadata": {"name": name},
            "spec": {"accountName": "Dev", "email": f"{name}@example.com", **spec}}


def ou(name: str, **spec: Any) -> dict[str, Any]:
    return {**HEAD, "kind": "OrgUnit", "metadata": {"name": name}, "spec": spec}


def rcp(name: str, **statement: Any) -> dict[str, Any]:
    stmt = {k: v for k, v in {**RCP_DENY, **statement}.items() if v is not None}
    return {**HEAD, "kind": "ServiceControlPolicy", "metadata": {"name": name},
            "spec": {"type": "RESOURCE_CONTROL_POLICY",
                     "document": {"Version": "2012-10-17", "Statement": [stmt]}}}


# (object, field of the finding, words of the limit in the message)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "tag key with !#$%": (ou("bad-key", tags={"bad key!#$%": "x"}), "spec.tags.bad key!#$%",
                          limits.TAG_KEY_PATTERN_MESSAGE),
    "tag key aws:": (ou("reserved", tags={"AWS:team": "x"}), "spec.tags.AWS:team", limits.TAG_KEY_RESERVED_MESSAGE),
    "tag key of 129": (ou("long-key", tags={"k" * 129: "x"}), f"spec.tags.{'k' * 129}", limits.TAG_KEY_LENGTH_MESSAGE),
    "tag value with ;": (ou("bad-value", tags={"team": "a;b"}), "spec.tags.team", limits.TAG_CHARACTERS),
    "tag value of 257": (ou("long-value", tags={"team": "v" * 257}), "spec.tags.team", "at most 256"),
    "51 tags": (ou("many-tags", tags={f"k{i}": "v" for i in range(51)}), "spec.tags", "at most 50"),
    "account name Développement": (account("accented", accountName="Développement"), "spec.accountName",
                                   limits.ACCOUNT_NAME_CHARACTERS),
    "account name with an emoji": (account("emoji", accountName="Dev \U0001f680"), "spec.accountName",
                                   limits.ACCOUNT_NAME_CHARACTERS),
    "account name of 51": (account("long-name", accountName="n" * 51), "spec.accountName", "1 to 50 characters"),
    "email without a dot in the domain": (account("localhost", email="aws-dev@localhost"), "spec.email",
                                          "the domain must contain at least one dot"),
    "email of 65": (account("long-email", email="e" * 53 + "@example.com"), "spec.email", "6 to 64 characters"),
    "RCP with NotAction": (rcp("not-action", Action=None, NotAction="s3:GetObject"),
                           "spec.document.Statement[0].NotAction", "not supported in a resource control policy"),
    "RCP with NotPrincipal": (rcp("not-principal", Principal=None, NotPrincipal={"AWS": "arn:aws:iam::1:root"}),
                              "spec.document.Statement[0].NotPrincipal", "not supported in a resource control policy"),
    "RCP with a principal": (rcp("principal", Principal={"AWS": "arn:aws:iam::123456789012:root"}),
                             "spec.document.Statement[0].Principal", 'must be "*"'),
    "RCP that allows": (rcp("allow", Effect="Allow"), "spec.document.Statement[0].Effect", "must be Deny"),
    "RCP on EC2": (rcp("ec2", Action="ec2:RunInstances"), "spec.document.Statement[0].Action",
                   "apply only to the services"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_refuses_what_aws_refuses(case: str, tmp_path: Path) -> None:
    manifest, field, words = CASES[case]
    text = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
    (tmp_path / "lz.yaml").write_text(text, encoding="utf-8")
    report = validate_paths([tmp_path])
    assert [(f.field, f.file) for f in report.errors] == [(field, f"{tmp_path}/lz.yaml")], report.findings
    finding = report.errors[0]
    assert words in finding.message and "; allowed: " in finding.message, finding.message
    key = field.rsplit(".", 1)[-1].split("[")[0]
    lines = text.splitlines()
    assert key in lines[finding.line - 1] or any(key in line for line in lines[finding.line - 1:finding.line + 1])


# Refused by the operator before any AWS call rather than by the API server: a map key's pattern would need CEL
# matches(), beyond the API server's cost budget; an RCP's grammar is not the schema's (tests/e2e/test_limits.py).
OPERATOR_REFUSES = {"tag key with !#$%"} | {c for c in CASES if c.startswith("RCP")}


@pytest.mark.parametrize("case", [c for c in CASES if c not in OPERATOR_REFUSES])
def test_the_crd_schema_refuses_it_too(case: str) -> None:
    """What the API server applies (the generated CRD's OpenAPI schema and CEL rules): refused at kubectl apply."""
    manifest, field, _ = CASES[case]
    causes = validation.admit(manifest, manifest["kind"]).causes
    assert causes, f"{case}: the schema lets it through"
    assert all(c.field.startswith(field.split(".")[0] + "." + field.split(".")[1]) for c in causes), causes


def test_what_aws_accepts_passes(tmp_path: Path) -> None:
    good = [ou("good", tags={"cost-center": "Développement 42", "a:b/c=d+e-f@g_h.i": "", "日本": "ü"}),
            account("good-account", accountName="Dev (sandbox) #1", email="a.b+c@example.co.uk"),
            rcp("good-rcp"), rcp("good-rcp-list", Action=["sts:AssumeRole", "kms:Decrypt", "secretsmanager:*"])]
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump_all(good, allow_unicode=True), encoding="utf-8")
    assert validate_paths([tmp_path]).findings == []


def test_the_reserved_prefix_rule_is_case_insensitive_and_cheap() -> None:
    """The aws: rule covers every case (AWS: "aws:, AWS:, or any upper or lowercase combination") with startsWith,
    whose CEL cost is the prefix's, never matches() or lowerAscii() on the unbounded key."""
    from controller.api.models import TAG_KEY_RULES

    assert all("matches(" not in rule and "lowerAscii" not in rule for rule, _ in TAG_KEY_RULES)
    for key in ("aws:x", "AWS:x", "aWs:x", "Aws:"):
        assert validation.admit(ou("r", tags={key: "v"}), "OrgUnit").causes, key
    assert not validation.admit(ou("r", tags={"awsx": "v", "my-aws:x": "v"}), "OrgUnit").causes


def test_re2_unicode_classes_mean_what_they_mean_in_go() -> None:
    """\\p{L}, \\p{Z}, \\p{N} (the API server's Go regexp and AWS's model) for Python's re."""
    tag = patterns.compile(limits.TAG_PATTERN)
    assert all(tag.search(s) for s in ["Développement", "日本語", "٣", "Ⅻ", "a\u00a0b", ""])
    assert not any(tag.search(s) for s in ["a!b", "tab\there", "\U0001f680", "a;b", "new\nline"])
    assert patterns.to_python(r"^[a-z]+$") == r"^[a-z]+$"
    assert patterns.compile(r"^\p{N}+$").search("42") and not patterns.compile(r"^\p{N}+$").search("4a")


def test_more_accounts_than_awss_default_quota_is_a_warning(tmp_path: Path) -> None:
    members = limits.DEFAULT_MAX_ACCOUNTS - 1
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump_all([account(f"acct-{i}") for i in range(members + 1)]))
    report = validate_paths([tmp_path])
    assert report.exit_code == 0 and not report.errors  # the quota may have been raised: only AWS knows
    [warning] = report.findings
    assert warning.name == f"acct-{members}" and limits.RAISE_ACCOUNT_QUOTA in warning.message
    assert f"{limits.DEFAULT_MAX_ACCOUNTS} accounts per organization" in warning.message
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump_all([account(f"acct-{i}") for i in range(members)]))
    assert validate_paths([tmp_path]).findings == []


# ------------------------------------------------------------------------------ the configurable limits

def _scps_on_one_ou(tmp_path: Path, count: int) -> Path:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}
    docs = [ou("team")] + [{"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "ServiceControlPolicy",
                            "metadata": {"name": f"g{i}"},
                            "spec": {"document": deny, "targets": {"orgUnitRefs": [{"name": "team"}]}}}
                           for i in range(count)]
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump_all(docs))
    return tmp_path


def test_limits_parse_and_refuse_nonsense() -> None:
    assert limits.Limits.parse(None) == limits.Limits() == limits.Limits(10, 5, 10240, 5120, 10)
    assert limits.Limits.parse("scps-per-target=12, rcp-characters=6000").scps_per_target == 12
    for bad, words in (("scps=3", "NAME one of scps-per-target"), ("accounts=many", "a whole number"),
                       ("accounts=0", "at least 1"), ("accounts", "NAME=N")):
        with pytest.raises(ValueError, match=words):
            limits.Limits.parse(bad)


@pytest.mark.parametrize(("argv", "env", "code"), [
    ([], None, 0),  # nine SCPs and FullAWSAccess (AWS attaches it): AWS's ten allow them
    (["--limits", "scps-per-target=5"], None, 1),  # an organization told it has five
    ([], "scps-per-target=5", 1),  # the same from the environment, shared with the operator
    (["--limits", "scps-per-target=10"], "scps-per-target=5", 0),  # the flag wins
    (["--limits", "scps=5"], None, 2),
])
def test_validate_reads_the_same_limits_as_the_operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], argv: list[str],
                                                        env: str | None, code: int) -> None:
    from controller.cli import main

    if env is not None:
        monkeypatch.setenv(limits.LIMITS_SETTING, env)
    else:
        monkeypatch.delenv(limits.LIMITS_SETTING, raising=False)
    try:
        assert main(["validate", *argv, str(_scps_on_one_ou(tmp_path, 9))]) == code
    finally:
        limits.use(limits.Limits())
    out = capsys.readouterr()
    if code == 1:
        assert "at most 5 service control policies" in out.out and "scps-per-target" in out.out
    if code == 2:
        assert "--limits" in out.err and "scps-per-target" in out.err


def test_an_aws_refusal_beyond_the_limits_names_the_setting() -> None:
    hint = limits.refusal_hint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", limits.SCP)
    assert hint is not None and "--limits scps-per-target=9" in hint and limits.LIMITS_SETTING in hint
    hint = limits.refusal_hint("POLICY_CONTENT_LIMIT_EXCEEDED", limits.RCP)
    assert hint is not None and "rcp-characters=5119" in hint
    both = limits.refusal_hint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    assert both is not None and "scps-per-target" in both and "rcps-per-target" in both
    assert limits.refusal_hint("ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED") is None
