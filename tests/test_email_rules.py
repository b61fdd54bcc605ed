"""CreateAccount's email rules and the control-character rule on names, applied by each of the four copies: the
CRD's CEL rules (the API server, and ``awsorg validate`` through the same schema), the operator's model
(pydantic, before any AWS call), ``limits.email_problems`` (validate's message) and the sandbox's own copy
(``aws_limits.email_valid``: the request ends FAILED with INVALID_EMAIL).

The verdicts are written here from CreateAccount's documentation of Email (botocore 1.44.8): "The address must be a
minimum of 6 and a maximum of 64 characters long. All characters must be 7-bit ASCII characters. There must be one
and only one @ symbol, which separates the local name from the domain name. The local name can't contain any of the
following characters: whitespace, " ' ( ) < > [ ] : ; , \\ | % & The local name can't begin with a dot (.) The
domain name can consist of only the characters [a-z],[A-Z],[0-9], hyphen (-), or dot (.) The domain name can't
begin or end with a hyphen (-) or dot (.) The domain name must contain at least one dot".
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pydantic
import pytest

from controller.api import limits, models, validation
from controller.sandbox import aws_limits
from controller.workflow.validate import validate_paths

#: email -> the rule it breaks (None: valid)
EMAILS: dict[str, str | None] = {
    "a@b.co": None,
    "john.doe+ops@example.com": None,
    "o'brien@example.com": "local-characters",
    "john(doe)@exa_mple.com": "local-characters",  # and domain-characters
    "jo hn@example.com": "local-characters",
    "john;doe@example.com": "local-characters",
    "a|b@example.com": "local-characters",
    "a&b@example.com": "local-characters",
    ".john@example.com": "local-dot",
    "john@exa_mple.com": "domain-characters",
    "john@-example.com": "domain-ends",
    "john@example.com.": "domain-ends",
    "john@localhost": "domain-dot",
    "john@@example.com": "one-at",
    "jöhn@example.com": "ascii",
    "a@b.c": "length",
    "x" * 53 + "@example.com": "length",
    "ab\ncd@example.com": "local-characters",
}


def _account(email: str) -> dict[str, object]:
    return {"apiVersion": models.API_VERSION, "kind": "AwsAccount", "metadata": {"name": "a"},
            "spec": {"accountName": "A", "email": email}}


@pytest.mark.parametrize(("email", "rule"), list(EMAILS.items()))
def test_every_copy_of_the_email_rules_agrees(email: str, rule: str | None) -> None:
    problems = limits.email_problems(email)
    assert (problems == []) == (rule is None), problems
    if rule is not None:
        assert any(p.startswith(limits.EMAIL_RULE_WORDS[rule]) for p in problems), problems
    causes = [c for c in validation.admit(_account(email), "AwsAccount").causes if c.field == "spec.email"]
    assert (causes == []) == (rule is None), causes  # the CRD: the API server and validate
    if rule not in (None, "length"):
        assert any(c.detail.endswith(models.EMAIL_RULE_MESSAGES[rule]) for c in causes), causes
    try:
        models.AwsAccountSpec.model_validate({"accountName": "A", "email": email})
        refused = False
    except pydantic.ValidationError:
        refused = True
    assert refused == (rule is not None)  # the operator, before any AWS call
    assert aws_limits.email_valid(email) == (rule is None)  # the sandbox's own copy
    if rule != "length":  # the one-pattern form (limits.EMAIL_PATTERN), whose length is the schema's
        assert bool(re.search(limits.EMAIL_PATTERN, email)) == (rule is None)


def test_validate_names_the_rule_the_character_and_why(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: AwsAccount\nmetadata: {name: john}\n"
        "spec: {accountName: John, email: john(doe)@exa_mple.com}\n")
    [finding] = validate_paths([tmp_path]).errors
    assert finding.field == "spec.email"
    assert "'(' (U+0028) at position 5" in finding.message and "'_' (U+005F) at position 14" in finding.message
    assert "can never have its root user accessed nor be removed" in finding.message


def test_no_pattern_runs_on_input_past_its_length_limit(tmp_path: Path) -> None:
    """32,000 characters took ~8 s in the old email pattern; the length is refused first, the rest is linear."""
    long = "a" * 16_000 + "@" + "b." * 8_000
    start = time.monotonic()
    assert limits.email_problems(long) == [f"{limits.EMAIL_RULE_WORDS['length']}, got {len(long)}"]
    assert not aws_limits.email_valid(long)
    (tmp_path / "a.yaml").write_text(
        f"apiVersion: awsorg.gitops.dev/v1alpha1\nkind: AwsAccount\nmetadata: {{name: long}}\n"
        f"spec: {{accountName: Long, email: '{long}'}}\n")
    assert validate_paths([tmp_path]).errors
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize(("kind", "spec", "field", "where"), [
    ("OrgUnit", {"name": "Team\nA"}, "spec.name", "'\\n' (U+000A) at position 5"),
    ("OrgUnit", {"name": "bell\x07"}, "spec.name", "'\\x07' (U+0007) at position 5"),
    ("ServiceControlPolicy", {"description": "a\x00b", "document": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}},
     "spec.description", "'\\x00' (U+0000) at position 2"),
    ("AwsAccount", {"accountName": "Dev\nTeam", "email": "dev@example.com"}, "spec.accountName", None),
])
def test_a_control_character_in_a_name_is_refused_everywhere(tmp_path: Path, kind: str, spec: dict[str, object],
                                                             field: str, where: str | None) -> None:
    import yaml

    obj = {"apiVersion": models.API_VERSION, "kind": kind, "metadata": {"name": "x"}, "spec": spec}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(obj))
    [finding] = validate_paths([tmp_path]).errors
    assert finding.field == field
    if where is not None:  # (an account name is printable ASCII by AWS's own pattern: refused by it)
        assert limits.CONTROL_CHARACTERS_MESSAGE in finding.message and where in finding.message, finding.message
    model = {"OrgUnit": models.OrgUnitSpec, "ServiceControlPolicy": models.ServiceControlPolicySpec,
             "AwsAccount": models.AwsAccountSpec}[kind]
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(spec)
