"""The administrator's policy: what objects from Git may ask of the operator, above Git.

The cluster's administrator owns one file (a ConfigMap in the operator's namespace, mounted into the Deployment;
its path in ``AWSORG_POLICY_FILE``; never among the objects ArgoCD syncs from the landing-zone repository). It
bounds what a merged pull request can make the operator do: which principals and managed policies the access role
may carry, which role names it may never adopt, which services may be trusted and administered by which accounts,
where the evidence lives and how long it is kept, which deletion policies are allowed, and which AWS ids are never
touched. An object that asks for more is refused (``Synced=False``, reason ``ForbiddenByPolicy``, naming the rule and
the field) before any AWS write; ``awsorg validate --policy FILE`` and ``awsorg plan --policy FILE`` say the same
before merge.

Without a file (or with an empty one) the defaults apply: they refuse what no landing zone needs and allow the rest,
so an ordinary baseline passes unchanged. A file states only what it changes; every field it leaves out keeps its
default (an empty file and no file are the same policy).

This module is the file's schema and its loading: pure data, no AWS and no Kubernetes. The checks that apply it
are ``controller.planner.guardrails``.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

API_VERSION = "awsorg.gitops.dev/v1alpha1"
KIND = "OperatorPolicy"
REASON = "ForbiddenByPolicy"
MAX_FILE_BYTES = 1 << 20  # a policy is a page of YAML; a larger file is a mistake, refused before it is parsed

# Roles that belong to another controller of the account: adopting one by declaring its name would hand its trust
# policy to Git (Control Tower's execution role, CloudFormation StackSets' execution roles, Identity Center's
# reserved roles, whose path is /aws-reserved/). The operator's own member role is added at run time.
DEFAULT_NEVER_ADOPT = ("AWSControlTowerExecution", "stacksets-exec-*", "AWSCloudFormationStackSetExecutionRole",
                       "AWSReservedSSO_*", "aws-reserved/*")
# Delegated administration of the Account Management service lets that member account change other member accounts'
# settings, their root email among them (Account Management reference, "Using the Account Management API with
# delegated administration"); no landing zone needs it from Git.
DEFAULT_FORBIDDEN_DELEGATIONS = ("account.amazonaws.com",)
ORGANIZATION = "organization"  # in allowedPrincipals: any principal of an account in this organization

AccountDeletion = Literal["Retain", "RemoveFromOrganization", "Close"]
ResourceDeletion = Literal["Delete", "Retain"]
OrganizationDeletion = Literal["Retain", "Delete"]


class PolicyFileError(ValueError):
    """The administrator's policy file cannot be used (the operator refuses to start on it)."""


class _Rules(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class AccessRoleRules(_Rules):
    allowed_principals: tuple[str, ...] = Field(
        default=(ORGANIZATION,), description="ARN patterns (fnmatch: * and ?) the access role may trust; the word "
        "'organization' stands for any principal of the management account or a member account.")
    allowed_managed_policies: tuple[str, ...] = Field(
        default=("*",), description="ARN patterns of the managed policies the access role may have attached.")
    never_adopt: tuple[str, ...] = Field(
        default=DEFAULT_NEVER_ADOPT, description="Role name patterns the access role may never be (adopting one "
        "would hand another controller's role to Git). The operator's own member role is always among them.")


class ServiceRules(_Rules):
    allowed_trusted_services: tuple[str, ...] = Field(
        default=("*",), description="Service principal patterns that may be given trusted access.")
    forbidden_delegations: tuple[str, ...] = Field(
        default=DEFAULT_FORBIDDEN_DELEGATIONS, description="Services no account may be delegated administrator of.")
    delegated_administrators: dict[str, tuple[str, ...]] | None = Field(
        default=None, description="When set: for each service principal pattern, the account ids that may be its "
        "delegated administrator (a service not listed may have none).")
    protected_delegations: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Registrations (service principal: account ids) never deregistered, "
        "whatever the Organization lists (the security team's own administrator).")


class LoggingRules(_Rules):
    log_archive_account_id: str | None = Field(
        default=None, description="The only account centralLogging may name as the log archive.")
    minimum_retention_days: int | None = Field(
        default=None, ge=1, description="centralLogging.retentionDays may not be lower (nor absent: unset means "
        "kept forever, which satisfies any minimum).")
    allow_retention_decrease: bool = Field(
        default=False, description="Whether retentionDays may be lowered below what the bucket has (lowering it "
        "expires logs already written).")
    allow_repoint: bool = Field(
        default=False, description="Whether the trail may be moved to another bucket or log archive account once "
        "it logs somewhere.")


class DeletionRules(_Rules):
    aws_account: tuple[AccountDeletion, ...] = Field(
        default=("Retain", "RemoveFromOrganization", "Close"), description="Deletion policies AwsAccounts may have.")
    org_unit: tuple[ResourceDeletion, ...] = Field(default=("Delete", "Retain"))
    service_control_policy: tuple[ResourceDeletion, ...] = Field(default=("Delete", "Retain"))
    organization: tuple[OrganizationDeletion, ...] = Field(default=("Retain", "Delete"))


class ProtectedIds(_Rules):
    accounts: tuple[str, ...] = Field(default=(), description="Account ids never moved, closed, removed or untagged.")
    policies: tuple[str, ...] = Field(default=(), description="Policy ids (p-...) never adopted or changed.")
    org_units: tuple[str, ...] = Field(default=(), description="OU ids never adopted, renamed, retagged or deleted.")

    @field_validator("accounts")
    @classmethod
    def _account_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not (len(v) == 12 and v.isdigit())]
        if bad:
            raise ValueError(f"expected 12-digit account ids, got {', '.join(map(repr, bad))}")
        return value


class AdoptionRules(_Rules):
    require_tag: dict[str, str] | None = Field(
        default=None, description="When set (key: value): an OU, policy or account that Git did not create is "
        "adopted only if it carries this tag.")


class AccountRules(_Rules):
    allowed_org_units: tuple[str, ...] | None = Field(
        default=None, description="When set: the OrgUnits (metadata.name) or OU/root ids AwsAccounts may be placed "
        "in ('root' for the root).")


class OperatorPolicy(_Rules):
    """The whole file. Every section and field is optional."""

    api_version: str = Field(default=API_VERSION)
    kind: str = Field(default=KIND)
    access_role: AccessRoleRules = Field(default_factory=AccessRoleRules)
    services: ServiceRules = Field(default_factory=ServiceRules)
    central_logging: LoggingRules = Field(default_factory=LoggingRules)
    deletion: DeletionRules = Field(default_factory=DeletionRules)
    protected: ProtectedIds = Field(default_factory=ProtectedIds)
    adoption: AdoptionRules = Field(default_factory=AdoptionRules)
    accounts: AccountRules = Field(default_factory=AccountRules)

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"expected {API_VERSION!r}")
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value != KIND:
            raise ValueError(f"expected {KIND!r}")
        return value


DEFAULT = OperatorPolicy()


def matches(value: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``value`` matches one of the fnmatch patterns (case-sensitive, as IAM and ARNs are)."""
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def parse(text: str, source: str = "policy") -> OperatorPolicy:
    """The policy in ``text`` (YAML), or PolicyFileError naming the field and what is allowed."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise PolicyFileError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    try:
        data: Any = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise PolicyFileError(f"{source}: not YAML ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyFileError(f"{source}: expected a mapping at the top, got {type(data).__name__}")
    try:
        return OperatorPolicy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top)"
            problems.append(f"{where}: {error['msg']}")
        raise PolicyFileError(f"{source}: " + "; ".join(problems)) from None


def load(path: str | Path | None) -> OperatorPolicy:
    """The policy in the file at ``path`` (None: the defaults). A missing or unreadable file is an error: an
    administrator who names a file means it."""
    if path is None or str(path) == "":
        return DEFAULT
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise PolicyFileError(f"{file}: larger than {MAX_FILE_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PolicyFileError(f"{file}: not UTF-8 text") from None
    return parse(text, str(file))
