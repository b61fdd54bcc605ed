"""AWS's limits and patterns: the one place the operator keeps them.

The CRD schemas (:mod:`controller.api.models`, hence ``crds/``), ``awsorg validate``, the planner and the
operator's messages read these, so a limit that AWS changes changes here, in one line.  Each is quoted from
its AWS source:

* the model: botocore ``botocore/data/organizations/2016-11-28/service-2.json`` (botocore 1.44.8, the
  pinned version): ``"shapes"`` give ``min``/``max``/``pattern`` of each parameter;
* the quotas: Organizations User Guide, "Quotas and service limits for AWS Organizations"
  (``orgs_reference_limits``);
* RCPs: Organizations User Guide, "RCP syntax" (``orgs_manage_policies_rcps_syntax``) and "Resource control
  policies (RCPs)", "List of AWS services that support RCPs".

The sandbox (:mod:`controller.sandbox.aws_limits`) keeps its own copy on purpose: it plays AWS, and a
mistake made here must not cancel itself out there.  ``tests/sandbox/test_aws_limits.py`` compares the two.

Patterns are RE2 syntax (what the Kubernetes API server and AWS document); ``\\p{L}``-style classes are
understood by :func:`controller.api.patterns.compile` for the Python side.
"""

from __future__ import annotations

from controller.api import patterns

# --------------------------------------------------------------------------------------------- tags

#: TagKey: ``"max": 128, "min": 1, "pattern": "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"``
TAG_KEY_MIN = 1
TAG_KEY_MAX = 128
#: TagValue: ``"max": 256, "min": 0``, same pattern as TagKey
TAG_VALUE_MAX = 256
TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
TAG_CHARACTERS = "letters, digits, spaces and the characters _.:/=+-@"
TAG_KEY_LENGTH_MESSAGE = f"keys must be {TAG_KEY_MIN} to {TAG_KEY_MAX} characters long"
TAG_KEY_PATTERN_MESSAGE = f"keys may contain only {TAG_CHARACTERS}"
TAG_VALUE_MESSAGE = f"values are at most {TAG_VALUE_MAX} characters of {TAG_CHARACTERS}"
#: ConstraintViolationException MAX_TAG_LIMIT_EXCEEDED ("You have exceeded the number of tags allowed on this
#: resource"); the user guide, "Tagging AWS Organizations resources": "Maximum number of tags per resource: 50".
MAX_TAGS = 50
#: "The aws: prefix is reserved for AWS use" (user guide, tagging): keys starting with it are refused.
RESERVED_TAG_PREFIX = "aws:"
TAG_KEY_RESERVED_MESSAGE = f"keys must not start with {RESERVED_TAG_PREFIX} (AWS reserves the prefix)"


def is_reserved_tag_key(key: str) -> bool:
    return key.lower().startswith(RESERVED_TAG_PREFIX)


#: A case-insensitive "starts with aws:" that the API server's CEL cost budget affords (startsWith costs the prefix's
#: length; lowerAscii() or matches() would cost the key's, which the budget takes as unbounded: map keys have no
#: maxLength, so each counts as ~3 MB, see kubernetes/kubernetes#121162 and #139523).
RESERVED_TAG_PREFIXES = tuple(
    a + w + s + ":" for a in "aA" for w in "wW" for s in "sS"
)


def tag_key_problems(key: str) -> list[str]:
    """What is wrong with a tag key, in the words of the CRD's rules (:data:`models.TAG_KEY_RULES`) and of the
    check the API server cannot afford (the pattern: validate and the operator apply it, before any AWS call)."""
    problems = []
    if not TAG_KEY_MIN <= len(key) <= TAG_KEY_MAX:
        problems.append(TAG_KEY_LENGTH_MESSAGE)
    if not patterns.search(TAG_PATTERN, key):
        problems.append(TAG_KEY_PATTERN_MESSAGE)
    if is_reserved_tag_key(key):
        problems.append(TAG_KEY_RESERVED_MESSAGE)
    return problems


def tag_key_refusal(key: str) -> tuple[str, str] | None:
    """``(what is wrong, what is allowed)`` for a tag key AWS refuses; None when AWS accepts it."""
    problems = tag_key_problems(key)
    if not problems:
        return None
    return f"AWS refuses the tag key {key!r}", "; ".join(problems) + " (AWS's TagKey)"

# --------------------------------------------------------------------------------------------- accounts

#: CreateAccountName: ``"max": 50, "min": 1, "pattern": "[\\u0020-\\u007E]+"`` (printable ASCII); written
#: here as the same range with literal characters, which every regex engine involved reads alike.
ACCOUNT_NAME_MIN = 1
ACCOUNT_NAME_MAX = 50
ACCOUNT_NAME_PATTERN = r"^[ -~]+$"
ACCOUNT_NAME_CHARACTERS = ("printable ASCII characters (letters A-Z and a-z, digits, spaces and punctuation; no "
                           "accents, no emoji)")
#: Email: ``"max": 64, "min": 6, "pattern": "[^\\s@]+@[^\\s@]+\\.[^\\s@]+"``
EMAIL_MIN = 6
EMAIL_MAX = 64
EMAIL_PATTERN = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
#: Quotas: "Default maximum number of accounts: 10 - The default maximum number of accounts allowed in an
#: organization. This quota is adjustable, and you can use the Service Quotas console" (management account only).
DEFAULT_MAX_ACCOUNTS = 10
RAISE_ACCOUNT_QUOTA = ("ask for more in the Service Quotas console of the management account (AWS Organizations, "
                       "\"Default maximum number of accounts\", region us-east-1)")
#: Quotas: "Number of concurrent account creations: 5"; ConstraintViolationException
#: ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED beyond.
MAX_CREATIONS_IN_FLIGHT = 5
#: Quotas: "Minimum age of a created account to remove it: 7 days" ("the minimum number of days that a created
#: account must exist before you can remove it from the organization"); the API reference's WAIT_PERIOD_ACTIVE
#: says four days: the user guide's figure is the stricter one.
MIN_DAYS_BEFORE_REMOVAL = 7

#: RemoveAccountFromOrganization: "You can remove an account from your organization only if the account is
#: configured with the information required to operate as a standalone account."  ConstraintViolationException
#: reasons (service-2.json) -> what a person must do, in the operator's messages.
REMOVAL_CONSTRAINTS = {
    "WAIT_PERIOD_ACTIVE": f"the account is younger than AWS's minimum age to remove a created account "
                          f"({MIN_DAYS_BEFORE_REMOVAL} days): wait, or set spec.deletionPolicy Retain to let the "
                          "object go and leave the account in the organization",
    "ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION": "sign in to the account as its root user and complete phone "
                                                       "verification",
    "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED": "sign in to the account as its root user and add a payment method "
                                                  "(e.g. a credit card)",
    "ACCOUNT_CANNOT_LEAVE_WITHOUT_EULA": "sign in to the account as its root user and accept the AWS Customer "
                                         "Agreement",
    "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG": "deregister the account as a delegated administrator first "
                                                      "(spec.delegatedAdministrators of the Organization)",
}
REMOVAL_GUIDE = ("Organizations user guide, \"Removing a member account from your organization\"")

# --------------------------------------------------------------------------------------------- OUs and names

#: OrganizationalUnitName, PolicyName: ``"max": 128, "min": 1``
NAME_MAX = 128
#: PolicyDescription: ``"max": 512``
POLICY_DESCRIPTION_MAX = 512
#: CreateOrganizationalUnit: "You can nest OUs up to five levels deep."
MAX_OU_DEPTH = 5

# --------------------------------------------------------------------------------------------- policies

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
#: Quotas, "Maximum size of a policy document": "Service control policies: 5,120 characters; Resource control
#: policies: 5,120 characters" (the document as sent: the operator sends it minified).
MAX_DOCUMENT_SIZE = {SCP: 5120, RCP: 5120}
#: Quotas, "Maximum number of policies of a type attached directly to a root, OU or account": SCPs 5, RCPs 5;
#: ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED beyond.
MAX_POLICIES_PER_TARGET = 5
TYPE_WORDS = {SCP: "service control policies", RCP: "resource control policies"}
#: RCP syntax, "Elements summary": Version, Statement, Sid, Effect ("The effect of Allow is only supported for
#: the RCPFullAWSAccess policy"), Principal ("Only "*" is supported"), Action, Resource, Condition; NotAction
#: and NotPrincipal are "not supported" (NotResource is).
RCP_STATEMENT_ELEMENTS = ("Sid", "Effect", "Principal", "Action", "Resource", "NotResource", "Condition")
RCP_PRINCIPAL = "*"
#: "List of AWS services that support RCPs": RCPs apply to the resources of these services only, and an RCP's
#: actions must be theirs (by IAM service prefix): Amazon S3, AWS STS, AWS KMS, Amazon SQS, AWS Secrets
#: Manager (at launch, November 2024), Amazon ECR and Amazon OpenSearch Serverless (June 2025), Amazon Cognito
#: (user pools) and Amazon CloudWatch Logs, Amazon DynamoDB.
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "aoss", "cognito-idp", "logs",
                          "dynamodb"})

# --------------------------------------------------------------------------------------------- IAM names

#: IAM CreateRole RoleName (roleNameType): ``"max": 64, "min": 1, "pattern": "[\w+=,.@-]+"``
ROLE_NAME_MAX = 64
ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"
#: ServicePrincipal (organizations): ``"max": 128, "min": 1, "pattern": "[\w+=,.@-]*"``; PolicyName's characters
#: as the operator writes them
NAME_PATTERN = r"^[\w+=,.@-]+$"
NAME_CHARACTERS = "letters, digits and the characters +=,.@_-"

#: What each pattern allows, in the words every message uses (validate, the operator).
PATTERN_WORDS = {
    ROLE_NAME_PATTERN: NAME_CHARACTERS,
    NAME_PATTERN: NAME_CHARACTERS,
    TAG_PATTERN: TAG_CHARACTERS,
    ACCOUNT_NAME_PATTERN: ACCOUNT_NAME_CHARACTERS,
    EMAIL_PATTERN: "an email address like name@example.com",
}

# Service principals that support a delegated administrator: Organizations user guide, "AWS services that you can
# use with AWS Organizations" (the "Supports delegated administrator" column); RegisterDelegatedAdministrator: "You
# can run this action only for Amazon Web Services services that support this feature" (any other principal:
# InvalidInputException UNRECOGNIZED_SERVICE_PRINCIPAL). The operator's planner and `awsorg validate` read this
# one; the sandbox keeps its own copy (it plays AWS), compared in tests/sandbox/test_aws_limits.py. moto's own
# list has six and lacks, e.g., config.amazonaws.com, which AWS Config's aggregators use.
DELEGATED_ADMIN_PRINCIPALS = frozenset({
    "access-analyzer.amazonaws.com", "account.amazonaws.com", "auditmanager.amazonaws.com",
    "backup.amazonaws.com", "cloudtrail.amazonaws.com", "compute-optimizer.amazonaws.com",
    "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com", "detective.amazonaws.com",
    "devops-guru.amazonaws.com", "fms.amazonaws.com", "guardduty.amazonaws.com", "health.amazonaws.com",
    "inspector2.amazonaws.com", "ipam.amazonaws.com", "license-manager.amazonaws.com", "macie.amazonaws.com",
    "member.org.stacksets.cloudformation.amazonaws.com", "securityhub.amazonaws.com",
    "securitylake.amazonaws.com", "servicecatalog.amazonaws.com", "ssm.amazonaws.com", "sso.amazonaws.com",
    "storage-lens.s3.amazonaws.com",
})
