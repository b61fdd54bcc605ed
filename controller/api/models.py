"""Pydantic models of the four kinds: the source of truth for the CRDs in ``crds/``.

Field names are the Kubernetes (camelCase) names through aliases; Python code uses snake_case.
Constraints here become OpenAPI constraints in the generated CRDs, so the API server refuses
bad YAML at ``kubectl apply`` time with a message naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from controller.api import limits

GROUP = "awsorg.gitops.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
#: The annotation that confirms, by account id, that deleting an AwsAccount may close it or remove it from the
#: organization (``deletionPolicy`` Close or RemoveFromOrganization): a second, explicit word beyond the policy.
CONFIRM_DELETION = f"{GROUP}/confirm-deletion"

# AWS identifier shapes (AWS Organizations API reference, "pattern" of each id type).
ROOT_ID_PATTERN = r"^r-[0-9a-z]{4,32}$"
OU_ID_PATTERN = r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"
PARENT_ID_PATTERN = r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"
ACCOUNT_ID_PATTERN = r"^\d{12}$"
TARGET_ID_PATTERN = r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$"
EMAIL_PATTERN = limits.EMAIL_PATTERN
# Kubernetes object names (RFC 1123 subdomain) for references.
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"

ParentId = Annotated[str, StringConstraints(pattern=PARENT_ID_PATTERN)]
TargetId = Annotated[str, StringConstraints(pattern=TARGET_ID_PATTERN)]
# (its pattern is a CEL rule below: pydantic would write it as patternProperties, which Kubernetes lacks)
TagKey = Annotated[str, StringConstraints(min_length=limits.TAG_KEY_MIN, max_length=limits.TAG_KEY_MAX)]
TagValue = Annotated[str, StringConstraints(max_length=limits.TAG_VALUE_MAX, pattern=limits.TAG_PATTERN)]
# The key rules the API server applies to each tag key (a map's keys have no schema of their own: CEL).  The key
# pattern is not among them: matches() on a map key exceeds the API server's CEL cost budget (the key's length is
# unbounded to it), so awsorg validate and the operator apply it (limits.tag_key_problems), in the same words.
_RESERVED = ", ".join(f"'{p}'" for p in limits.RESERVED_TAG_PREFIXES)
TAG_KEY_RULES = (
    (f"self.all(k, size(k) >= {limits.TAG_KEY_MIN} && size(k) <= {limits.TAG_KEY_MAX})", limits.TAG_KEY_LENGTH_MESSAGE),
    (f"self.all(k, ![{_RESERVED}].exists(p, k.startsWith(p)))", limits.TAG_KEY_RESERVED_MESSAGE),
)
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=limits.MAX_TAGS, json_schema_extra={
    "x-kubernetes-validations": [{"rule": rule, "message": message} for rule, message in TAG_KEY_RULES]})]



def _no_control_characters(value: str) -> str:
    problem = limits.control_character_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _valid_email(value: str) -> str:
    refusal = limits.email_refusal(value)
    if refusal is not None:
        raise ValueError(f"{refusal[0]} ({limits.EMAIL_WHY})")
    return value


#: A name or text the operator sends to AWS and prints: no control characters (limits.CONTROL_CHARACTERS_MESSAGE).
_NO_CONTROL = [AfterValidator(_no_control_characters), Field(json_schema_extra={"x-kubernetes-validations": [
    {"rule": limits.NO_CONTROL_CHARACTERS_RULE, "message": limits.CONTROL_CHARACTERS_MESSAGE}]})]
#: CreateAccount's email rules (limits.EMAIL_RULES): the length as minLength/maxLength, each other rule a CEL rule
#: whose message names it; the operator applies limits.email_problems (the same rules, written apart).
EMAIL_RULE_MESSAGES = {name: f"{words} ({limits.EMAIL_WHY})" for name, words in limits.EMAIL_RULE_WORDS.items()}
EMAIL_VALIDATIONS: Any = [{"rule": "self == oldSelf", "message": "email is immutable"}] + [
    {"rule": rule, "message": EMAIL_RULE_MESSAGES[name]} for rule, name in limits.EMAIL_CEL_RULES]
Email = Annotated[str, StringConstraints(min_length=limits.EMAIL_MIN, max_length=limits.EMAIL_MAX),
                  AfterValidator(_valid_email)]

ManagementPolicy = Literal["Manage", "Observe"]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
    )


class ObjectRef(_Model):
    """A reference to another object of this API, by ``metadata.name``."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=K8S_NAME_PATTERN)] = Field(
        description="metadata.name of the referenced object."
    )


# --------------------------------------------------------------------------------------------- specs


class OrgUnitSpec(_Model):
    """An organizational unit."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.parentRef) && has(self.parentId))",
                    "message": "set at most one of parentRef and parentId",
                    "fieldPath": ".parentId",
                }
            ]
        }
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=limits.NAME_MAX), *_NO_CONTROL] | None = Field(
        default=None, description="The OU's name in AWS; defaults to metadata.name."
    )
    parent_ref: ObjectRef | None = Field(default=None, description="Parent OrgUnit by metadata.name.")
    parent_id: ParentId | None = Field(
        default=None, description="Parent as a raw AWS id (r-... or ou-...). Neither this nor parentRef: the root."
    )
    tags: Tags | None = Field(
        default=None, description="When present, the whole tag set (keys starting aws: are never touched)."
    )
    deletion_policy: Literal["Delete", "Retain"] = Field(
        default="Delete", description="Delete the OU in AWS when the object is deleted, or Retain it."
    )
    management_policy: ManagementPolicy = Field(
        default="Manage", description="Manage, or Observe: read and report only, never write to AWS."
    )


class InviteSpec(_Model):
    """The explicit opt-in to invite an account outside the organization (spec.accountId) to join it."""

    notes: Annotated[str, StringConstraints(max_length=limits.HANDSHAKE_NOTES_MAX)] | None = Field(
        default=None, description="Sent in the invitation's email to the account's owner (HandshakeNotes). Changing "
        "it sends a new invitation once the last one ended (declined, canceled, expired).")


class AwsAccountSpec(_Model):
    """A member account of the organization."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.orgUnitRef) && has(self.parentId))",
                    "message": "set at most one of orgUnitRef and parentId",
                    "fieldPath": ".parentId",
                },
                {
                    "rule": "!has(self.invite) || has(self.accountId)",
                    "message": "spec.invite needs spec.accountId: the id of the account outside the organization to "
                               "invite",
                    "fieldPath": ".invite",
                },
            ]
        }
    )

    account_name: Annotated[str, StringConstraints(
        min_length=limits.ACCOUNT_NAME_MIN, max_length=limits.ACCOUNT_NAME_MAX, pattern=limits.ACCOUNT_NAME_PATTERN
    )] = Field(
        description="The account's name in AWS."
    )
    email: Email = Field(
        description="The account's root user email; immutable once created. CreateAccount's rules for a valid "
                    "email apply: an account created with an invalid one can never be recovered.",
        json_schema_extra={
            "x-kubernetes-validations": EMAIL_VALIDATIONS
        },
    )
    org_unit_ref: ObjectRef | None = Field(default=None, description="Parent OrgUnit by metadata.name.")
    parent_id: ParentId | None = Field(
        default=None, description="Parent as a raw AWS id (r-... or ou-...). Neither: the root."
    )
    role_name: Annotated[str, StringConstraints(min_length=1, max_length=limits.ROLE_NAME_MAX,
                                                pattern=limits.ROLE_NAME_PATTERN)] = (
        Field(default="OrganizationAccountAccessRole", description="IAM role created in the account (creation only).")
    )
    iam_user_access_to_billing: Literal["ALLOW", "DENY"] = Field(
        default="ALLOW", description="IAM user access to billing (creation only)."
    )
    account_id: Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)] | None = Field(
        default=None, description="Adopt this existing member account instead of creating one (with spec.invite: "
                                  "the account outside the organization to invite)."
    )
    invite: InviteSpec | None = Field(
        default=None, description="Invite spec.accountId, an account outside the organization, to join it "
        "(InviteAccountToOrganization); bound and placed in its OU once its owner accepts.")
    tags: Tags | None = Field(default=None, description="When present, the whole tag set.")
    deletion_policy: Literal["Retain", "RemoveFromOrganization", "Close"] = Field(
        default="Retain",
        description="Retain (forget the account, leave it in AWS), RemoveFromOrganization, or Close. The last two "
                    "act only when the object carries the annotation awsorg.gitops.dev/confirm-deletion naming the "
                    "account's id; without it deleting the object waits (Synced=False, DeletionNotConfirmed).",
    )
    management_policy: ManagementPolicy = Field(default="Manage", description="Manage or Observe.")


class PolicyTargets(_Model):
    """Where the policy is attached: exactly this set."""

    root: bool = Field(default=False, description="Attach to the organization root.")
    org_unit_refs: list[ObjectRef] = Field(default_factory=list, description="OrgUnits by metadata.name.")
    account_refs: list[ObjectRef] = Field(default_factory=list, description="AwsAccounts by metadata.name.")
    ids: list[TargetId] = Field(default_factory=list, description="Raw AWS ids: r-..., ou-..., or 12 digits.")


class PolicySpec(_Model):
    """What every policy kind declares (ServiceControlPolicy, ManagementPolicy): each adds its ``type``."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=limits.NAME_MAX,
                                           pattern=limits.NAME_PATTERN)] | None = (
        Field(default=None, description="The policy's name in AWS; defaults to metadata.name.")
    )
    description: Annotated[str, StringConstraints(max_length=limits.POLICY_DESCRIPTION_MAX), *_NO_CONTROL] = Field(
        default="", description="Description.")
    type: str = Field(description="The policy type.")
    document: dict[str, Any] = Field(description="The policy document as a YAML object; sent as minified JSON.")
    targets: PolicyTargets = Field(default_factory=PolicyTargets, description="Attachments in AWS: exactly these.")
    tags: Tags | None = Field(default=None, description="When present, the whole tag set.")
    deletion_policy: Literal["Delete", "Retain"] = Field(
        default="Delete", description="Delete (detach everywhere, then delete) or Retain."
    )
    management_policy: ManagementPolicy = Field(default="Manage", description="Manage or Observe.")


class ServiceControlPolicySpec(PolicySpec):
    """A service control policy (or resource control policy)."""

    type: Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] = Field(
        default="SERVICE_CONTROL_POLICY", description="The policy type."
    )


ManagementPolicyType = Literal["TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY",
                               "DECLARATIVE_POLICY_EC2", "SECURITYHUB_POLICY", "SECURITYHUB_CSPM_POLICY",
                               "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY", "S3_POLICY",
                               "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY"]


class ManagementPolicySpec(PolicySpec):
    """A management policy (tag, backup, AI services opt-out, ...): the management policy syntax, inherited down the
    tree into each account's effective policy."""

    type: ManagementPolicyType = Field(description="The management policy type (enabled on the root when needed).")


POLICY_TYPES = limits.POLICY_TYPES
PolicyType = Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", ManagementPolicyType]
# A service principal as AWS spells them (ServicePrincipal: "pattern": "[\\w+=,.@-]*", at most 128).
ServicePrincipal = Annotated[str, StringConstraints(min_length=1, max_length=limits.NAME_MAX,
                                                    pattern=limits.NAME_PATTERN)]
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$"
MANAGED_POLICY_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/.+$"
ORGANIZATION_NAME = "organization"  # the one Organization object's metadata.name
#: How many items a list in a status keeps (status.drift, status.baseline.failed); the rest are counted, so that a
#: status stays far below the API server's limits at thousands of accounts (controller/reconciler/status.py).
STATUS_LIST_MAX = 50


class DelegatedAdministrator(_Model):
    """A member account registered as delegated administrator for one service."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.accountRef) != has(self.accountId)",
                    "message": "set exactly one of accountRef and accountId",
                }
            ]
        }
    )

    account_ref: ObjectRef | None = Field(default=None, description="The AwsAccount by metadata.name.")
    account_id: Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)] | None = Field(
        default=None, description="The member account as a raw 12-digit id."
    )
    service_principal: ServicePrincipal = Field(
        description="The service, e.g. config.amazonaws.com; it must also be in trustedServices."
    )


class CloudTrailSettings(_Model):
    """The organization trail, logging into the bucket."""

    enabled: bool = Field(default=True, description="An organization trail, multi-region, log file validation.")
    trail_name: Annotated[str, StringConstraints(min_length=3, max_length=128)] = Field(
        default="organization-trail", description="The trail's name."
    )


class ConfigSettings(_Model):
    """AWS Config recorders and the organization aggregator."""

    enabled: bool = Field(default=True, description="A recorder and delivery channel in every member account.")
    regions: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]] = Field(
        default_factory=list, description="Regions to record in (default: homeRegion)."
    )
    aggregator_name: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        default="organization-aggregator", description="The organization aggregator in the log archive account."
    )


class ObjectLock(_Model):
    """Object Lock on the log bucket: each new log version locked for ``days`` (S3's default retention)."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        description="COMPLIANCE: no one, the root user included, can delete or overwrite a locked version before "
        "its retention ends; GOVERNANCE: users with s3:BypassGovernanceRetention can.")
    # S3 API reference, DefaultRetention (PutObjectLockConfiguration): Days "must be a positive integer"; the
    # retention period can be at most 100 years (S3 user guide, "Configuring S3 Object Lock"); read 2026-12-07.
    days: Annotated[int, Field(ge=1, le=36500)] = Field(description="Days each new version is locked (1 to 36500).")


class CentralLogging(_Model):
    """The log archive: a bucket, the organization trail and AWS Config in every member account."""

    account_ref: ObjectRef = Field(description="The log archive AwsAccount (e.g. Shared Services).")
    bucket_name: Annotated[str, StringConstraints(min_length=3, max_length=63, pattern=BUCKET_PATTERN)] = Field(
        description="The log bucket, in the log archive account."
    )
    retention_days: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Days the log objects are kept (a lifecycle rule); absent: kept forever.")
    cloud_trail: CloudTrailSettings = Field(
        default_factory=CloudTrailSettings, description="The organization trail, logging into the bucket.")
    config: ConfigSettings = Field(
        default_factory=ConfigSettings, description="AWS Config recorders and the organization aggregator.")
    home_region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] = Field(
        default="us-east-1", description="Where the bucket, the trail and the aggregator live."
    )
    object_lock: ObjectLock | None = Field(
        default=None, description="Object Lock with a default retention (S3 enables it on an existing bucket; once "
        "enabled it cannot be turned off). Absent: not enabled by the operator, left as it is.")
    kms_key_arn: Annotated[str, StringConstraints(
        pattern=r"^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key/[a-zA-Z0-9-]{1,64}$")] | None = Field(
        default=None, description="Default encryption SSE-KMS with this KMS key (a key ARN, in homeRegion); its key "
        "policy must let CloudTrail and Config use it (docs/operating.md). Absent: SSE-S3.")


ConditionValue = Annotated[str, StringConstraints(min_length=1, max_length=limits.CONDITION_VALUE_MAX), *_NO_CONTROL]


class TrustCondition(_Model):
    """One condition of the access role's trust policy: ``Condition: {operator: {key: values}}``."""

    operator: Annotated[str, StringConstraints(max_length=limits.CONDITION_OPERATOR_MAX,
                                               pattern=limits.CONDITION_OPERATOR_PATTERN)] = Field(
        description="An IAM condition operator: StringEquals, StringLike, ArnLike, Bool, NumericLessThan, ..., with "
        "an optional IfExists suffix and ForAnyValue:/ForAllValues: prefix.")
    key: Annotated[str, StringConstraints(min_length=1, max_length=limits.CONDITION_KEY_MAX,
                                          pattern=limits.CONDITION_KEY_PATTERN)] = Field(
        description="The condition context key, e.g. aws:PrincipalOrgID, aws:MultiFactorAuthPresent, sts:ExternalId "
        "(IAM compares key names case-insensitively).")
    values: list[ConditionValue] = Field(
        min_length=1, max_length=limits.MAX_CONDITION_VALUES,
        description="The values (any one matches), written as strings: 'true', '3600', an ARN.")


#: The API server's part of _distinct_conditions (its cost: 20 x 20 comparisons of bounded strings): keys spelt
#: alike. Keys that differ only in case (IAM's names are case-insensitive) are refused by awsorg validate and the
#: operator (the model's validator): lowerAscii() is a Kubernetes CEL function the sandbox's cel-python lacks.
DISTINCT_CONDITIONS_RULE = "self.all(c, self.exists_one(d, d.operator == c.operator && d.key == c.key))"
DISTINCT_CONDITIONS_MESSAGE = ("two conditions have the same operator and key: a trust policy holds one entry per "
                               "operator and key, so list the values together")


def _distinct_conditions(conditions: list[TrustCondition]) -> list[TrustCondition]:
    seen: dict[tuple[str, str], int] = {}
    for i, condition in enumerate(conditions):
        first = seen.setdefault((condition.operator, condition.key.lower()), i)
        if first != i:
            raise ValueError(f"conditions[{i}] has the operator and key of conditions[{first}] "
                             f"({condition.operator} {condition.key}; key names are case-insensitive): a trust "
                             "policy holds one entry per operator and key, so list the values together")
    return conditions


class AccessRole(_Model):
    """The role engineers assume, in every active member account."""

    role_name: Annotated[str, StringConstraints(min_length=1, max_length=limits.ROLE_NAME_MAX,
                                                pattern=limits.ROLE_NAME_PATTERN)] = Field(
        description="The IAM role's name in each member account (created, or adopted when it exists).")
    trusted_principals: list[Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:.+$")]] = (
        Field(min_length=1, description="AWS principal ARNs allowed to assume the role.")
    )
    managed_policy_arns: list[Annotated[str, StringConstraints(pattern=MANAGED_POLICY_ARN_PATTERN)]] = (
        Field(default_factory=list, max_length=limits.ROLE_MANAGED_POLICIES_MAX, description="Managed policies "
              f"attached to the role: IAM allows {limits.DEFAULT_ROLE_MANAGED_POLICIES} per role unless the quota was "
              f"raised (at most {limits.ROLE_MANAGED_POLICIES_MAX}; the operator's setting role-managed-policies).")
    )
    conditions: Annotated[list[TrustCondition], AfterValidator(_distinct_conditions)] = Field(
        default_factory=list, max_length=limits.MAX_TRUST_CONDITIONS, json_schema_extra={
            "x-kubernetes-validations": [{"rule": DISTINCT_CONDITIONS_RULE, "message": DISTINCT_CONDITIONS_MESSAGE}]},
        description="Conditions of the trust policy's statement (all must hold), e.g. StringEquals "
        "aws:PrincipalOrgID. Compared by meaning: one removed or changed outside Git is drift.")
    max_session_duration: Annotated[int, Field(ge=limits.ROLE_SESSION_MIN, le=limits.ROLE_SESSION_MAX)] = Field(
        default=limits.ROLE_SESSION_DEFAULT, description="The role's maximum session duration in seconds (IAM: "
        "3600 to 43200). The default, 3600, is IAM's: an adopted role with a longer one is set back to it.")


#: IAM's trusted service principal: centralized root access needs trusted access for it (IAM API reference,
#: EnableOrganizationsRootCredentialsManagement: "Enable trusted access for Identity and Access Management in
#: Organizations"; read 2026-12-07).
IAM_PRINCIPAL = "iam.amazonaws.com"


class RootAccess(_Model):
    """Centralized root access for member accounts (IAM, in the management account). Each field: true enables the
    feature and keeps it enabled; false disables it (only when written so); absent: left as it is."""

    credentials_management: bool | None = Field(
        default=None, description="RootCredentialsManagement: the management account can delete and audit member "
        "accounts' root user credentials (EnableOrganizationsRootCredentialsManagement).")
    root_sessions: bool | None = Field(
        default=None, description="RootSessions: the management account can take short root sessions in member "
        "accounts for privileged tasks (EnableOrganizationsRootSessions).")


class OrganizationSpec(_Model):
    """The organization-wide settings (one object, named organization)."""

    feature_set: Literal["ALL", "CONSOLIDATED_BILLING"] = Field(
        default="ALL", description="ALL: enabled through AWS's EnableAllFeatures handshake; never downgraded."
    )
    policy_types: list[PolicyType] | None = Field(
        default=None,
        description="When present: the policy types enabled on the root (these, plus any type a "
        "ServiceControlPolicy object needs); another enabled type is drift, disabled only when no policy of "
        "that type is attached anywhere. Absent: policy types are left as they are.",
    )
    trusted_services: list[ServicePrincipal] = Field(
        default_factory=list, description="Service principals given trusted access (at least these; others "
        "enabled outside Git are reported, never disabled)."
    )
    delegated_administrators: list[DelegatedAdministrator] = Field(
        default_factory=list, description="Exactly these delegated administrators for the services named here."
    )
    central_logging: CentralLogging | None = Field(
        default=None, description="The log bucket (in accountRef, homeRegion), the organization trail, AWS Config in "
        "every member account and listed region, and the organization aggregator in the log archive account."
    )
    access_role: AccessRole | None = Field(
        default=None, description="A role in every active member account, trusting exactly trustedPrincipals and "
        "with exactly managedPolicyArns attached. Absent: no role is managed.")
    root_access: RootAccess | None = Field(
        default=None, description="Centralized root access (needs 'iam.amazonaws.com' in trustedServices). When "
        "present, each member account's root user credentials are read (IAM's GetAccountSummary through the member "
        "role, spread over resyncs) and the accounts that still have them are reported. Absent: not managed.")
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain", description="Retain (forget), or Delete: remove the aggregator, recorders and trail of "
        "centralLogging (never the bucket or its objects), then deregister the delegated administrators declared "
        "here (trusted access and policy types are left as they are)."
    )
    management_policy: ManagementPolicy = Field(default="Manage", description="Manage or Observe.")


# -------------------------------------------------------------------------------------------- status


class Condition(_Model):
    """A Kubernetes-style condition."""

    type: str = Field(description="Ready, Synced, Drifted (and Baseline for the Organization).")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="Why, in one CamelCase word (docs/operating.md lists each).")
    message: str = Field(default="", description="What happened and what to do, for a person.")
    # No default: the API server validates every default against its schema, formats included, and ""
    # is not a date-time (kube-openapi strfmt.IsDateTime), so `default: ''` made every CRD unacceptable.
    last_transition_time: str | None = Field(default=None, json_schema_extra={"format": "date-time"},
                                             description="When status last changed.")
    observed_generation: int | None = Field(default=None, description="The metadata.generation it describes.")


class DriftItem(_Model):
    """One field where AWS was last seen differing from the spec."""

    field: str = Field(description="The spec field, e.g. spec.parentRef.")
    desired: str | None = Field(default=None, description="What the spec asks for.")
    actual: str | None = Field(default=None, description="What AWS had.")


class _Status(_Model):
    """What the operator last saw in AWS and did about it."""

    id: str | None = Field(default=None, description="The AWS id.")
    arn: str | None = Field(default=None, description="The AWS ARN.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation the operator last reconciled.")
    last_sync_time: str | None = Field(
        default=None, json_schema_extra={"format": "date-time"},
        description="When the status last changed. A resync that finds nothing new writes nothing; the metric "
        "awsorg_resource_last_checked_timestamp_seconds says when the object was last compared with AWS.",
    )
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Synced and Drifted.")
    drift: list[DriftItem] = Field(
        default_factory=list, max_length=STATUS_LIST_MAX,
        description=f"The fields where AWS was last seen differing from the spec (the first {STATUS_LIST_MAX}).")
    drift_count: int | None = Field(
        default=None, description="How many fields differ (status.drift shows the first ones).")


class OrgUnitStatus(_Status):
    """What the operator last saw of the OU in AWS."""

    parent_id: str | None = Field(default=None, description="The parent's AWS id (r-... or ou-...).")
    path: str | None = Field(default=None, description="Path from the root, e.g. Root/Non-Production.")


class CreationBackoff(_Model):
    """While the organization is at its account quota (CreateAccount FAILED with ACCOUNT_LIMIT_EXCEEDED): when
    CreateAccount is tried again and how long the current wait is, with what the refusal was seen under (a spec
    change, a change of the operator's accounts limit or fewer accounts in the organization end the wait)."""

    next_attempt_at: str = Field(description="When CreateAccount is tried again (UTC).",
                                 json_schema_extra={"format": "date-time"})
    delay_seconds: int = Field(description="The current wait: the resync interval (at least 60 s) after the first "
                               "refusal, doubled after each further one, up to 3600.")
    generation: int = Field(description="The object's metadata.generation at the refusal: a spec change ends the "
                            "wait.")
    accounts_limit: int = Field(description="The operator's accounts limit (--limits accounts=N, AWSORG_LIMITS) at "
                                "the refusal: a change ends the wait.")
    accounts: int = Field(description="The accounts in the organization at the refusal (management account "
                          "included): fewer end the wait.")


class AwsAccountStatus(_Status):
    """What the operator last saw of the account in AWS."""

    state: str | None = Field(default=None, description="ACTIVE, SUSPENDED, PENDING_CLOSURE, ...")
    create_account_request_id: str | None = Field(
        default=None, description="The CreateAccount request in flight or done (car-...), found again after a "
        "restart so the account is never created twice.")
    creation_started_at: str | None = Field(
        default=None,
        description="When the operator recorded its intent to create the account (before calling CreateAccount).",
        json_schema_extra={"format": "date-time"},
    )
    parent_id: str | None = Field(default=None, description="The parent's AWS id (r-... or ou-...).")
    path: str | None = Field(default=None, description="The parent's path from the root, e.g. Root/Workloads.")
    email: str | None = Field(default=None, description="The email the account was created or adopted with.")
    root_credentials: str | None = Field(
        default=None, description="The root user's credentials as IAM reports them in the account (Organization "
        "rootAccess): 'none', or those present: password, accessKeys, signingCertificates, mfa.")
    invitation_started_at: str | None = Field(
        default=None, json_schema_extra={"format": "date-time"},
        description="When the operator recorded its intent to invite the account (before calling "
        "InviteAccountToOrganization).")
    invitation_for: str | None = Field(
        default=None, description="What the invitation was sent for (a digest of spec.accountId and "
        "spec.invite): a new invitation only when it changes.")
    invitation_handshake_id: str | None = Field(
        default=None, description="The invitation's handshake (h-...), found again after a restart so the account "
        "is never invited twice.")
    invitation_state: str | None = Field(
        default=None, description="The invitation's handshake state: OPEN, ACCEPTED, DECLINED, CANCELED, EXPIRED.")
    invitation_expires_at: str | None = Field(default=None, description="When the open invitation expires.")
    creation_backoff: CreationBackoff | None = Field(
        default=None, description="While the organization is at its account quota: when CreateAccount is tried "
        "again (reason AccountQuotaReached); absent otherwise.")


class PolicyStatus(_Status):
    """What the operator last saw of the policy in AWS."""

    attached_target_ids: list[str] = Field(
        default_factory=list, description="Where AWS has the policy attached (r-..., ou-..., account ids).")
    document_size: int | None = Field(
        default=None, description="Minified JSON size in characters (AWS's limit depends on the type).")


class ServiceControlPolicyStatus(PolicyStatus):
    """What the operator last saw of the policy in AWS."""


class ManagementPolicyStatus(PolicyStatus):
    """What the operator last saw of the management policy in AWS."""


class TrailStatus(_Model):
    """The organization trail, as CloudTrail reports it."""

    arn: str | None = Field(default=None, description="The trail's ARN.")
    is_logging: bool | None = Field(default=None, description="Whether the trail is logging.")
    latest_delivery_error: str | None = Field(
        default=None, description="GetTrailStatus' LatestDeliveryError: the S3 error CloudTrail met delivering log "
        "files into the bucket (e.g. AccessDenied: the bucket policy no longer admits CloudTrail); absent while "
        "delivery works.")
    latest_delivery_time: str | None = Field(
        default=None, description="GetTrailStatus' LatestDeliveryTime, shown while delivery fails: the last log "
        "file delivery that succeeded (absent while delivery works, so the status does not change every delivery).")


class BaselineFailure(_Model):
    """A member account whose baseline could not be set up."""

    account: str = Field(description="The member account's id.")
    reason: str = Field(description="Why (a condition reason, e.g. AccessDenied).")


class BaselineStatus(_Model):
    """The member accounts' baseline (accessRole, AWS Config): how many have it."""

    accounts: int | None = Field(default=None, description="Active member accounts.")
    compliant: int | None = Field(default=None, description="Member accounts with their whole baseline.")
    pending: int | None = Field(default=None, description="Member accounts still being set up or waited for.")
    failed: list[BaselineFailure] = Field(
        default_factory=list, max_length=STATUS_LIST_MAX,
        description=f"Member accounts that failed, and why (the first {STATUS_LIST_MAX}; failedCount: all).")
    failed_count: int | None = Field(default=None, description="Member accounts that failed.")
    baselined_accounts: list[str] = Field(
        default_factory=list, description="The member accounts that have had their baseline (kept while they are "
        "members): the operator's memory across restarts, so that the access role gone from one of them is drift, "
        "not new work.")


class DelegatedAdministratorStatus(_Model):
    """A delegated administrator, as AWS lists it."""

    account_id: str = Field(description="The member account's id.")
    service_principal: str = Field(description="The service it administers, e.g. config.amazonaws.com.")


class RootAccessStatus(_Model):
    """Centralized root access, as IAM reports it, and the member accounts that still have root credentials."""

    enabled_features: list[str] = Field(
        default_factory=list, description="IAM's enabled features: RootCredentialsManagement, RootSessions.")
    accounts_checked: int | None = Field(default=None, description="Member accounts whose root user was read.")
    with_root_credentials: list[str] = Field(
        default_factory=list, max_length=STATUS_LIST_MAX,
        description=f"Member accounts whose root user still has credentials (the first {STATUS_LIST_MAX}).")
    with_root_credentials_count: int | None = Field(
        default=None, description="Member accounts whose root user still has credentials.")


class OrganizationStatus(_Status):
    """What the operator last saw of the organization in AWS."""

    feature_set: str | None = Field(default=None, description="ALL or CONSOLIDATED_BILLING, as AWS reports it.")
    enabled_policy_types: list[str] = Field(default_factory=list, description="Enabled on the root.")
    trusted_services: list[str] = Field(default_factory=list, description="Every service with trusted access.")
    trusted_services_outside_git: list[str] = Field(
        default_factory=list, description="Trusted access enabled outside Git (reported, never disabled)."
    )
    delegated_administrators: list[DelegatedAdministratorStatus] = Field(
        default_factory=list, description="The delegated administrators of the services the spec names."
    )
    all_features_handshake_id: str | None = Field(default=None, description="The open EnableAllFeatures handshake.")
    trail: TrailStatus | None = Field(default=None, description="The organization trail (centralLogging).")
    aggregator_arn: str | None = Field(default=None, description="The organization aggregator's ARN.")
    baseline: BaselineStatus | None = Field(
        default=None, description="The member accounts' baseline (accessRole, centralLogging's AWS Config).")
    root_access: RootAccessStatus | None = Field(
        default=None, description="Centralized root access (spec.rootAccess), as IAM reports it.")


# ----------------------------------------------------------------------------------------- kinds


class KindInfo(BaseModel):
    """Everything the CRD generator needs to know about one kind."""

    kind: str
    plural: str
    singular: str
    short_names: list[str]
    spec: type[_Model]
    status: type[_Model]
    printer_columns: list[dict[str, Any]]
    root_validations: list[dict[str, Any]] = []  # x-kubernetes-validations on the whole object


def _cond_col(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{name}")].status',
    }


# `kubectl get -o wide` adds the columns of priority 1.
_REASON = {"name": "Reason", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Synced")].reason',
           "priority": 1, "description": "Why the object is (not) in sync: the Synced condition's reason."}
_DELETION = {"name": "Deletion", "type": "string", "jsonPath": ".spec.deletionPolicy", "priority": 1,
             "description": "What deleting the object does in AWS."}
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_ID = {"name": "ID", "type": "string", "jsonPath": ".status.id"}
#: The columns every kind ends with (its conditions, why, what deleting it does, its age).
_CONDITIONS_REASON_DELETION_AGE = [_cond_col("Ready"), _cond_col("Synced"), _cond_col("Drifted"), _REASON, _DELETION,
                                   _AGE]

ORG_UNIT = KindInfo(
    kind="OrgUnit",
    plural="orgunits",
    singular="orgunit",
    short_names=["ou"],
    spec=OrgUnitSpec,
    status=OrgUnitStatus,
    printer_columns=[
        _ID,
        {"name": "Path", "type": "string", "jsonPath": ".status.path"},
        {"name": "Parent", "type": "string", "jsonPath": ".status.parentId", "priority": 1},
        *_CONDITIONS_REASON_DELETION_AGE,
    ],
)

AWS_ACCOUNT = KindInfo(
    kind="AwsAccount",
    plural="awsaccounts",
    singular="awsaccount",
    short_names=["awsacct"],
    spec=AwsAccountSpec,
    status=AwsAccountStatus,
    printer_columns=[
        _ID,
        {"name": "Name", "type": "string", "jsonPath": ".spec.accountName", "priority": 1},
        {"name": "Email", "type": "string", "jsonPath": ".spec.email"},
        {"name": "Parent", "type": "string", "jsonPath": ".status.path"},
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "RootCredentials", "type": "string", "jsonPath": ".status.rootCredentials", "priority": 1,
         "description": "The root user's credentials as IAM reports them (Organization rootAccess)."},
        {"name": "Invitation", "type": "string", "jsonPath": ".status.invitationState", "priority": 1},
        *_CONDITIONS_REASON_DELETION_AGE,
    ],
)

SERVICE_CONTROL_POLICY = KindInfo(
    kind="ServiceControlPolicy",
    plural="servicecontrolpolicies",
    singular="servicecontrolpolicy",
    short_names=["scp"],
    spec=ServiceControlPolicySpec,
    status=ServiceControlPolicyStatus,
    printer_columns=[
        _ID,
        {"name": "Type", "type": "string", "jsonPath": ".spec.type", "priority": 1},
        {"name": "Targets", "type": "string", "jsonPath": ".status.attachedTargetIds"},
        {"name": "Size", "type": "integer", "jsonPath": ".status.documentSize", "priority": 1},
        *_CONDITIONS_REASON_DELETION_AGE,
    ],
)

MANAGEMENT_POLICY = KindInfo(
    kind="ManagementPolicy",
    plural="managementpolicies",
    singular="managementpolicy",
    short_names=["mgmtpolicy"],
    spec=ManagementPolicySpec,
    status=ManagementPolicyStatus,
    printer_columns=[
        _ID,
        {"name": "Type", "type": "string", "jsonPath": ".spec.type"},
        {"name": "Size", "type": "integer", "jsonPath": ".status.documentSize"},
        {"name": "Targets", "type": "string", "jsonPath": ".status.attachedTargetIds"},
        *_CONDITIONS_REASON_DELETION_AGE,
    ],
)

ORGANIZATION = KindInfo(
    kind="Organization",
    plural="organizations",
    singular="organization",
    short_names=["org"],
    spec=OrganizationSpec,
    status=OrganizationStatus,
    printer_columns=[
        _ID,
        {"name": "Features", "type": "string", "jsonPath": ".status.featureSet"},
        {"name": "Trusted", "type": "string", "jsonPath": ".status.trustedServices", "priority": 1},
        {"name": "PolicyTypes", "type": "string", "jsonPath": ".status.enabledPolicyTypes", "priority": 1},
        _cond_col("Ready"),
        _cond_col("Synced"),
        _cond_col("Drifted"),
        _cond_col("Baseline"),
        {"name": "Trail", "type": "boolean", "jsonPath": ".status.trail.isLogging",
         "description": "The organization trail is logging."},
        _REASON,
        _AGE,
    ],
    root_validations=[
        {
            "rule": f"self.metadata.name == '{ORGANIZATION_NAME}'",
            "message": f"the Organization is a singleton: its metadata.name must be '{ORGANIZATION_NAME}'",
            "fieldPath": ".metadata.name",
        }
    ],
)

KINDS: tuple[KindInfo, ...] = (ORG_UNIT, AWS_ACCOUNT, SERVICE_CONTROL_POLICY, MANAGEMENT_POLICY, ORGANIZATION)
KINDS_BY_PLURAL = {k.plural: k for k in KINDS}
KINDS_BY_KIND = {k.kind: k for k in KINDS}
CATEGORY = "awsorg"
