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
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from controller.api import limits

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


class RequiredCondition(_Rules):
    """A condition every accessRole must carry in its trust policy (e.g. StringEquals aws:PrincipalOrgID)."""

    operator: str = Field(description="The condition operator, as IAM spells it (StringEquals, Bool, ArnLike, ...).")
    key: str = Field(description="The condition key (compared case-insensitively, as IAM compares key names).")
    values: tuple[str, ...] | None = Field(
        default=None, description="When set: the values the accessRole's condition may list (each of its values "
        "must be one of these). Unset: any values.")

    @field_validator("operator")
    @classmethod
    def _operator(cls, value: str) -> str:
        problem = limits.condition_operator_problem(value)
        if problem is not None:
            raise ValueError(f"{problem}; allowed: {limits.CONDITION_OPERATOR_WORDS}")
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(limits.CONDITION_KEY_PATTERN, value) or len(value) > limits.CONDITION_KEY_MAX:
            raise ValueError(f"{value!r} is not a condition key; allowed: "
                             f"{limits.PATTERN_WORDS[limits.CONDITION_KEY_PATTERN]}")
        return value


class AccessRoleRules(_Rules):
    allowed_principals: tuple[str, ...] = Field(
        default=(ORGANIZATION,), description="ARN patterns (fnmatch: * and ?) the access role may trust; the word "
        "'organization' stands for any principal of the management account or a member account.")
    allowed_managed_policies: tuple[str, ...] = Field(
        default=("*",), description="ARN patterns of the managed policies the access role may have attached.")
    never_adopt: tuple[str, ...] = Field(
        default=DEFAULT_NEVER_ADOPT, description="Role name patterns the access role may never be (adopting one "
        "would hand another controller's role to Git). The operator's own member role is always among them.")
    required_conditions: tuple[RequiredCondition, ...] = Field(
        default=(), description="Conditions the access role's trust policy must carry (spec.accessRole.conditions: "
        "the same operator and key, and when values are given only those values).")
    max_session_duration: int | None = Field(
        default=None, ge=limits.ROLE_SESSION_MIN, le=limits.ROLE_SESSION_MAX,
        description="When set: the longest spec.accessRole.maxSessionDuration allowed (seconds).")


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
            problem = f"{where}: {error['msg']}"
            if error["type"] == "extra_forbidden":
                problem += f"; allowed: {', '.join(_fields_at(error['loc'][:-1]))}"
            problems.append(problem)
        raise PolicyFileError(f"{source}: " + "; ".join(problems)) from None


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The fields the file may have at ``loc`` (a section of the policy), as the administrator writes them."""
    model: type[BaseModel] = OperatorPolicy
    for part in loc:
        found = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        annotation = found.annotation if found is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [f.alias or name for name, f in model.model_fields.items()]


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


log = logging.getLogger("awsorg.policy")


class PolicyFile:
    """The administrator's policy as the running operator holds it (``AWSORG_POLICY_FILE``).

    Read and validated when made (an invalid file raises ``PolicyFileError``: the operator refuses to start).
    Afterwards :meth:`current` looks at the file again at most every ``interval`` seconds (``os.stat``: its inode,
    size and modification time, which change when the kubelet swaps a ConfigMap volume's ``..data`` link; then its
    content's hash): a changed file is read and validated again. A valid one applies from then on (``version``
    counts the changes); an invalid or unreadable one is logged as an error and the last valid policy stays in
    force (``problem`` says why), so that a typo never lifts the guardrails. ``path`` None: the defaults, always.
    """

    def __init__(self, path: str | Path | None = None, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, policy: OperatorPolicy | None = None) -> None:
        self.path = None if path is None or str(path) == "" else Path(path)
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stat: tuple[int, int, int] | None = None
        self._digest = ""
        self._checked = clock()
        self.version = 0
        self.problem: str | None = None
        if policy is not None or self.path is None:
            self._policy = policy or DEFAULT
            return
        self._stat = self._look()
        text = self._read()
        self._policy = parse(text, str(self.path))
        self._digest = hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def fixed(cls, policy: OperatorPolicy) -> PolicyFile:
        """A policy that never changes (``awsorg plan --policy``, tests)."""
        return cls(None, policy=policy)

    def _look(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)  # type: ignore[arg-type]
        except OSError:
            return None
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def _read(self) -> str:
        file = self.path
        assert file is not None
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                raise PolicyFileError(f"{file}: larger than {MAX_FILE_BYTES} bytes")
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyFileError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise PolicyFileError(f"{file}: not UTF-8 text") from None

    def current(self) -> OperatorPolicy:
        """The policy in force, the file looked at again when ``interval`` has passed since the last look."""
        self.refresh()
        return self._policy

    def refresh(self, *, force: bool = False) -> bool:
        """Look at the file now (when due, or ``force``); True when a changed, valid policy now applies."""
        if self.path is None:
            return False
        with self._lock:
            now = self._clock()
            if not force and now - self._checked < self.interval:
                return False
            self._checked = now
            seen = self._look()
            if seen is not None and seen == self._stat:
                return False
            self._stat = seen
            try:
                text = self._read()
                digest = hashlib.sha256(text.encode()).hexdigest()
                if digest == self._digest:
                    self.problem = None
                    return False
                policy = parse(text, str(self.path))
            except PolicyFileError as exc:
                if self.problem != str(exc):
                    log.error("the administrator's policy file changed and is refused: %s; the last valid policy "
                              "stays in force", exc)
                self.problem = str(exc)
                return False
            self._policy, self._digest, self.problem = policy, digest, None
            self.version += 1
            log.warning("the administrator's policy %s changed (version %d): it applies from now on", self.path,
                        self.version)
            return True
