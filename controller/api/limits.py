"""AWS's limits and patterns: the one place the operator keeps them.

The CRD schemas (:mod:`controller.api.models`, hence ``crds/``), ``awsorg validate``, the planner and the
operator's messages read these, so a limit that AWS changes changes here, in one line.  Each is quoted from
its AWS source:

* the model: botocore ``botocore/data/organizations/2016-11-28/service-2.json`` (botocore 1.44.8, the
  pinned version): ``"shapes"`` give ``min``/``max``/``pattern`` of each parameter;
* the quotas: Organizations User Guide, "Quotas and service limits for AWS Organizations"
  (``orgs_reference_limits``), re-read 2026-12-07 (the stored copy the search tool serves), and AWS "What's New",
  2026-05-15, "AWS Organizations increased SCP quotas", which that copy predates.  Re-checked 2026-12-07: the
  accounts quota and the policy sizes and attachments (below); the rows for concurrent creations (5), OU depth (5),
  tags per resource (50) and the minimum age to remove an account (7 days) are not in the excerpts the search tool
  holds and stay as read before, each with its quote;
* RCPs: Organizations User Guide, "RCP syntax" (``orgs_manage_policies_rcps_syntax``) and "Resource control
  policies (RCPs)", "List of AWS services that support RCPs".

The sandbox (:mod:`controller.sandbox.aws_limits`) keeps its own copy on purpose: it plays AWS, and a
mistake made here must not cancel itself out there.  ``tests/sandbox/test_aws_limits.py`` compares the two.

Figures an organization can have raised (the accounts quota) or that AWS changes (the SCP and RCP quotas) are
defaults of :class:`Limits`, an operator setting (``--limits`` / ``AWSORG_LIMITS``, :mod:`controller.settings`)
that ``awsorg validate``, ``awsorg plan`` and the operator share through :func:`active`; when AWS refuses what the
configured limits allowed, :func:`refusal_hint` names the setting to change.  The others are AWS's fixed rules.

A pattern is never evaluated on input longer than its length limit (:func:`email_problems`, :func:`name_problems`
check the length first): Python's ``re`` backtracks, and AWS's email pattern took ~8 s on 32,000 characters.

Patterns are RE2 syntax (what the Kubernetes API server and AWS document); ``\\p{L}``-style classes are
understood by :func:`controller.api.patterns.compile` for the Python side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields

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
    elif not patterns.search(TAG_PATTERN, key):  # no pattern past the length limit
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
#: Email: ``"max": 64, "min": 6, "pattern": "[^\\s@]+@[^\\s@]+\\.[^\\s@]+"``; CreateAccount's documentation of
#: Email (botocore 1.44.8) adds "The rules for a valid email address" (:data:`EMAIL_RULES`), which the model's
#: pattern does not enforce: AWS takes ``john(doe)@exa_mple.com`` and the request ends FAILED (INVALID_EMAIL) or,
#: worse, the account exists with an address nobody can receive mail at.
EMAIL_MIN = 6
EMAIL_MAX = 64
#: The rules, as one RE2/Python pattern for the CRD (linear: no nested or adjacent ambiguous repetition; and only
#: ever evaluated on at most EMAIL_MAX characters): a local part of 7-bit ASCII without whitespace, @ or any of
#: ``" ' ( ) < > [ ] : ; , \ | % &``, not starting with a dot; one @; a domain of ``[a-zA-Z0-9.-]`` with a dot,
#: not starting or ending with ``-`` or ``.``.
EMAIL_LOCAL_CHARACTERS = "!#$*+\\-./0-9=?A-Z^_`a-z{}~"
EMAIL_PATTERN = (f"^[{EMAIL_LOCAL_CHARACTERS.replace('.', '')}][{EMAIL_LOCAL_CHARACTERS}]*"
                 "@[a-zA-Z0-9][a-zA-Z0-9-]*\\.[a-zA-Z0-9.-]*[a-zA-Z0-9]$")
EMAIL_LOCAL_FORBIDDEN = "\"'()<>[]:;,\\|%&"
#: CreateAccount, Email: "You can't access the root user of the account or remove an account that was created with
#: an invalid email address."
EMAIL_WHY = ("AWS: an account created with an invalid email address can never have its root user accessed nor be "
             "removed from the organization")
#: (rule name, the rule in CreateAccount's words) for each rule; the CRD's CEL rules carry the same messages.
EMAIL_RULES = (
    ("length", f"must be {EMAIL_MIN} to {EMAIL_MAX} characters long"),
    ("ascii", "must be 7-bit ASCII characters only"),
    ("one-at", "must contain exactly one @, which separates the local part from the domain"),
    ("local-characters", "the local part (before the @) must not be empty nor contain whitespace or any of "
                         + " ".join(EMAIL_LOCAL_FORBIDDEN)),
    ("local-dot", "the local part must not begin with a dot"),
    ("domain-characters", "the domain (after the @) may contain only the letters a-z and A-Z, digits, - and ."),
    ("domain-ends", "the domain must not begin or end with - or ."),
    ("domain-dot", "the domain must contain at least one dot"),
)
EMAIL_RULE_WORDS = dict(EMAIL_RULES)
#: The same rules as the CRD's CEL rules on spec.email (RE2 ``matches()``, cheap: the field has maxLength 64), the
#: length being the schema's minLength/maxLength.  Written apart from :func:`email_problems` on purpose: the
#: table test in tests/test_email_rules.py holds both to the same hand-written verdicts.
EMAIL_CEL_RULES = (
    ("self.matches('^[\\\\x00-\\\\x7f]*$')", "ascii"),
    ("self.matches('^[^@]*@[^@]*$')", "one-at"),
    ("self.matches('^[^\\\\x00-\\\\x20\\\\x7f\"\\'()<>\\\\[\\\\]:;,\\\\\\\\|%&@]+@')", "local-characters"),
    ("!self.startsWith('.')", "local-dot"),
    ("self.matches('@[a-zA-Z0-9.-]*$')", "domain-characters"),
    ("!self.matches('@[-.]') && !self.matches('[-.]$')", "domain-ends"),
    ("self.matches('@[^@]*[.]')", "domain-dot"),
)


def _at(text: str, index: int) -> str:
    return f"{text[index]!r} (U+{ord(text[index]):04X}) at position {index + 1}"


def email_problems(email: str) -> list[str]:
    """Each of CreateAccount's email rules the address breaks, naming the character and where; [] when valid.

    The length is checked first and alone: nothing else looks at an address longer than AWS allows."""
    if not EMAIL_MIN <= len(email) <= EMAIL_MAX:
        return [f"{EMAIL_RULE_WORDS['length']}, got {len(email)}"]
    problems: list[str] = []
    wide = next((i for i, c in enumerate(email) if ord(c) > 0x7F), None)
    if wide is not None:
        problems.append(f"{EMAIL_RULE_WORDS['ascii']}: {_at(email, wide)}")
    ats = email.count("@")
    if ats != 1:
        problems.append(f"{EMAIL_RULE_WORDS['one-at']}, found {ats}")
        return problems
    local, _, domain = email.partition("@")
    bad_local = next((i for i, c in enumerate(local) if c.isspace() or c in EMAIL_LOCAL_FORBIDDEN
                      or unicodedata.category(c) == "Cc"), None)
    if not local:
        problems.append(f"{EMAIL_RULE_WORDS['local-characters']}: it is empty")
    elif bad_local is not None:
        problems.append(f"{EMAIL_RULE_WORDS['local-characters']}: {_at(email, bad_local)}")
    if local.startswith("."):
        problems.append(EMAIL_RULE_WORDS["local-dot"])
    offset = len(local) + 1
    bad_domain = next((i for i, c in enumerate(domain) if not (c.isascii() and (c.isalnum() or c in "-."))), None)
    if bad_domain is not None:
        problems.append(f"{EMAIL_RULE_WORDS['domain-characters']}: {_at(email, offset + bad_domain)}")
    if not domain or domain[0] in "-." or domain[-1] in "-.":
        problems.append(EMAIL_RULE_WORDS["domain-ends"])
    if "." not in domain:
        problems.append(EMAIL_RULE_WORDS["domain-dot"])
    return problems


def email_refusal(email: str) -> tuple[str, str] | None:
    """``(what is wrong, what is allowed and why)`` for an email CreateAccount must not be given; None if valid."""
    problems = email_problems(email)
    if not problems:
        return None
    return (f"the email {email[:EMAIL_MAX + 8]!r} breaks CreateAccount's rules: " + "; ".join(problems),
            f"an email address valid by CreateAccount's rules (6 to 64 characters of 7-bit ASCII, one @, a local part "
            f"without whitespace or {' '.join(EMAIL_LOCAL_FORBIDDEN)} not starting with a dot, a domain of letters, "
            f"digits, - and . with a dot, not starting or ending with - or .): {EMAIL_WHY}")
#: Quotas: "Default maximum number of accounts: 10 - The default maximum number of accounts allowed in an
#: organization. This quota is adjustable, and you can use the Service Quotas console" (management account only;
#: re-read 2026-12-07: "Limit increases can be granted up to 10,000 accounts"). Default of the ``accounts`` limit.
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

#: CloseAccount (botocore 1.44.8, service-2.json, read 2026-12-07): "Within a rolling 30 day period you can close the
#: higher of either 250 or 20% of the member accounts in your organization, up to a maximum of 1,000. This quota is
#: not bound by a calendar month, but starts when you close an account. After you reach this limit, you can't close
#: additional accounts."  Refused past it: ConstraintViolationException CLOSE_ACCOUNT_QUOTA_EXCEEDED.  The default of
#: the ``closures`` limit (:class:`Limits`) when it is not configured.
CLOSE_QUOTA_FLOOR, CLOSE_QUOTA_SHARE, CLOSE_QUOTA_CEILING = 250, 0.20, 1000
CLOSE_QUOTA_DAYS = 30
#: CloseAccount: "Resources remaining within the account after closing will be automatically deleted after 90 days.
#: During this 90-day period, the resources won't be available unless you contact Amazon Web Services Support to
#: reopen the account. After 90 days, you can't reopen an account."  HandshakeConstraintViolationException
#: ACCOUNT_NUMBER_LIMIT_EXCEEDED: "Note that deleted and closed accounts still count toward your limit."
CLOSED_ACCOUNT_DAYS = 90


def aws_closure_quota(members: int) -> int:
    """AWS's closure quota for an organization of ``members`` member accounts (see CLOSE_QUOTA_*)."""
    return min(CLOSE_QUOTA_CEILING, max(CLOSE_QUOTA_FLOOR, int(members * CLOSE_QUOTA_SHARE)))


#: HandshakeNotes: ``"max": 1024`` (InviteAccountToOrganization's Notes).
HANDSHAKE_NOTES_MAX = 1024
#: Quotas page (orgs_reference_limits, read 2026-12-07): "Number of invitations that you can send per day: 20";
#: HandshakeConstraintViolationException HANDSHAKE_RATE_LIMIT_EXCEEDED beyond ("You attempted to exceed the number
#: of handshakes that you can send in one day."). Invitations sent count against the maximum number of accounts
#: until the invited account declines, the management account cancels, or the invitation expires (the same page).
INVITATIONS_PER_DAY = 20
#: User guide, "Inviting an AWS account to join your organization": an invitation not answered expires after 15 days.
INVITATION_DAYS = 15
#: User guide, "Accessing member accounts in your organization": AWS creates OrganizationAccountAccessRole only in
#: an account it creates; "If you invite an existing account to join your organization, you must create the role
#: yourself".
INVITED_ROLE_WORDS = ("AWS creates that role only in the accounts it creates; an account that joined by invitation "
                      "has none until someone creates it")


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

#: OrganizationalUnitName, PolicyName: ``"max": 128, "min": 1, "pattern": "[\\s\\S]*"``: AWS takes any character,
#: control characters included; the operator refuses those (below) in every name it sends to AWS or prints.
NAME_MAX = 128

#: Control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F: a NUL, a bell, a newline, a tab...) in a
#: name break every log line, event, table and terminal that shows it; refused in every name the operator sends
#: to AWS or prints (OU, account and policy names, policy descriptions), before any AWS call.  The CRDs carry the
#: same rule (:data:`NO_CONTROL_CHARACTERS_RULE`).
CONTROL_CHARACTERS_MESSAGE = "must not contain control characters (a newline, a tab, a NUL, ...)"
NO_CONTROL_CHARACTERS_RULE = "!self.matches('[\\\\x00-\\\\x1f\\\\x7f-\\\\x9f]')"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character_problem(text: str, max_length: int | None = None) -> str | None:
    """Which control character ``text`` holds and where (the first), or None.  Past ``max_length`` nothing is
    searched (the length check answers first)."""
    if max_length is not None and len(text) > max_length:
        return None
    found = _CONTROL.search(text)
    if found is None:
        return None
    return f"{CONTROL_CHARACTERS_MESSAGE}: found {_at(text, found.start())}"
#: PolicyDescription: ``"max": 512``
POLICY_DESCRIPTION_MAX = 512
#: CreateOrganizationalUnit: "You can nest OUs up to five levels deep."
MAX_OU_DEPTH = 5

# --------------------------------------------------------------------------------------------- policies

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
#: "Maximum size of a policy document": SCPs 10,240 characters since 2026-05-15 (AWS "What's New", "AWS
#: Organizations increased SCP quotas": 10 SCPs per root, OU or account, was 5, and 10,240 characters, was 5,120,
#: automatically in every partition; read 2026-12-07); RCPs 5,120 characters (quotas page, "Resource control
#: policies: 5,120 characters", read 2026-12-07: the change names SCPs only).  Counted on the document as sent
#: (the operator sends it minified); ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED beyond.
#: Defaults of the ``scp-characters``/``rcp-characters`` limits (:class:`Limits`).
MAX_DOCUMENT_SIZE = {SCP: 10240, RCP: 5120}
#: "Maximum number of policies of a type attached directly to a root, OU or account": SCPs 10 since 2026-05-15 (the
#: same "What's New"), RCPs 5 (quotas page, read 2026-12-07); ConstraintViolationException
#: MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED beyond.  Defaults of ``scps-per-target``/``rcps-per-target``.
MAX_POLICIES_PER_TYPE = {SCP: 10, RCP: 5}
MAX_POLICIES_PER_TARGET = MAX_POLICIES_PER_TYPE[SCP]
#: The 13 management policy types: botocore 1.44.8, ``shapes.EffectivePolicyType.enum`` of the organizations model
#: (the types DescribeEffectivePolicy answers for); with SCP and RCP they are ``shapes.PolicyType.enum``'s 15.
MANAGEMENT_POLICY_TYPES = (
    "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2",
    "SECURITYHUB_POLICY", "SECURITYHUB_CSPM_POLICY", "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY",
    "S3_POLICY", "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY",
)
POLICY_TYPES = (SCP, RCP, *MANAGEMENT_POLICY_TYPES)
#: Management policies' "Maximum size of a policy document" (quotas page, ``orgs_reference_limits``, read
#: 2026-12-07 in its zh_TW and zh_CN copies, which list more types than the stored English ones): tag, backup,
#: chat applications (CHATBOT_POLICY), declarative (DECLARATIVE_POLICY_EC2) and Security Hub CSPM policies 10,000
#: characters, AI services opt-out policies 2,500.  NOT VERIFIED (no stored page gives them; 10,000, the figure of
#: every other management type, assumed): SECURITYHUB_POLICY, INSPECTOR_POLICY, UPGRADE_ROLLOUT_POLICY,
#: BEDROCK_POLICY, S3_POLICY, NETWORK_SECURITY_DIRECTOR_POLICY, GUARDDUTY_POLICY.
UNVERIFIED_SIZE = frozenset({"SECURITYHUB_POLICY", "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY",
                             "S3_POLICY", "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY"})
MAX_DOCUMENT_SIZE.update({t: 2500 if t == "AISERVICES_OPT_OUT_POLICY" else 10000 for t in MANAGEMENT_POLICY_TYPES})
#: "Maximum number you can attach to a root, OU, or account" ("Managing organization policies",
#: ``orgs_manage_policies``, its policy types table, read 2026-12-07): "AI services opt-out policy 5", "Backup policy
#: 10", "Tag policy 10".  NOT VERIFIED (the stored copies of that table stop at those four types; 10 assumed): the
#: ten others.  ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED beyond.
UNVERIFIED_ATTACHMENTS = frozenset(MANAGEMENT_POLICY_TYPES) - {"TAG_POLICY", "BACKUP_POLICY",
                                                               "AISERVICES_OPT_OUT_POLICY"}
MAX_POLICIES_PER_TYPE.update({t: 5 if t == "AISERVICES_OPT_OUT_POLICY" else 10 for t in MANAGEMENT_POLICY_TYPES})
TYPE_WORDS = {SCP: "service control policies", RCP: "resource control policies",
              "TAG_POLICY": "tag policies", "BACKUP_POLICY": "backup policies",
              "AISERVICES_OPT_OUT_POLICY": "AI services opt-out policies",
              "CHATBOT_POLICY": "chat applications policies",
              "DECLARATIVE_POLICY_EC2": "declarative policies for EC2", "SECURITYHUB_POLICY": "Security Hub policies",
              "SECURITYHUB_CSPM_POLICY": "Security Hub CSPM policies", "INSPECTOR_POLICY": "Inspector policies",
              "UPGRADE_ROLLOUT_POLICY": "upgrade rollout policies", "BEDROCK_POLICY": "Bedrock policies",
              "S3_POLICY": "S3 policies", "NETWORK_SECURITY_DIRECTOR_POLICY": "Network Security Director policies",
              "GUARDDUTY_POLICY": "GuardDuty policies"}
TYPE_SHORT = {SCP: "SCPs", RCP: "RCPs", **{t: TYPE_WORDS[t] for t in MANAGEMENT_POLICY_TYPES}}
#: When AWS's default of :data:`MAX_POLICIES_PER_TYPE` was set, and where that is said, for the messages.
POLICIES_PER_TYPE_SOURCE = {SCP: "since 2026-05-15 (AWS \"What's New\", \"AWS Organizations increased SCP quotas\")",
                            RCP: "(Organizations quotas, read 2026-12-07)",
                            **{t: "(NOT VERIFIED: assumed, see controller/api/limits.py)" if t in UNVERIFIED_ATTACHMENTS
                               else "(\"Managing organization policies\", read 2026-12-07)"
                               for t in MANAGEMENT_POLICY_TYPES}}
#: The AWS managed policy of each type that AWS attaches to the root, every OU and every account when the type is
#: enabled, and to each OU and account made later: "When you enable SCPs, AWS Organizations attaches FullAWSAccess
#: to the root, every OU and every account" (user guide, "Enabling a policy type"); RCP syntax: RCPFullAWSAccess
#: "is automatically attached to the organization root, every OU, and every account in your organization, when you
#: enable RCPs".  Each is a policy of its type attached to the target, so it takes one of the places AWS counts
#: (ConstraintViolationException MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED, as the sandbox plays it); nothing in
#: the files detaches it (a ServiceControlPolicy cannot name an AWS managed policy).
AWS_MANAGED_DEFAULT = {SCP: "FullAWSAccess", RCP: "RCPFullAWSAccess"}


@dataclass(frozen=True)
class AttachmentCount:
    """The policies of one type directly on one target, counted as AWS counts them: the organization's own
    (``own``: declared in the files, or attached in AWS) and the AWS managed ones attached there (``aws_managed``).
    :func:`count_attachments` makes it; ``awsorg validate``, ``awsorg plan`` and the operator all read it."""

    policy_type: str
    where: str
    own: tuple[str, ...]
    aws_managed: tuple[str, ...]
    own_words: str = "declared"

    @property
    def total(self) -> int:
        return len(self.own) + len(self.aws_managed)

    @property
    def most(self) -> int:
        return active().policies_per_target(self.policy_type)

    @property
    def within(self) -> bool:
        return self.total <= self.most

    @property
    def first_over(self) -> int:
        """The index in ``own`` of the first policy past the limit (the one to blame)."""
        return max(0, self.most - len(self.aws_managed))

    def allowed(self) -> str:
        """``AWS allows 10 per target since 2026-05-15 (...)``, or the configured limit when it is not AWS's."""
        short = TYPE_SHORT.get(self.policy_type, self.policy_type)
        name = policy_limit_name(self.policy_type, "count")
        if self.policy_type in MANAGEMENT_POLICY_TYPES:  # AWS's quota, not a setting
            return f"AWS allows at most {self.most} {short} per target {POLICIES_PER_TYPE_SOURCE[self.policy_type]}"
        if self.most == MAX_POLICIES_PER_TYPE.get(self.policy_type):
            return (f"AWS allows at most {self.most} {short} per target {POLICIES_PER_TYPE_SOURCE[self.policy_type]}, "
                    f"the limit {name}")
        return f"the configured limit {name}={self.most} allows at most {self.most} {short} per target"

    def message(self) -> str:
        """``10 SCPs on OU 'x' (9 declared + FullAWSAccess, which AWS attaches to every target); AWS allows ...``"""
        short = TYPE_SHORT.get(self.policy_type, self.policy_type)
        own = f"{len(self.own)} {self.own_words}"
        if self.own:
            own += ": " + ", ".join(self.own)
        managed = ""
        if self.aws_managed:
            names = " and ".join(self.aws_managed)
            managed = f" + {names}, which AWS attaches to every target"
        return f"{self.total} {short} on {self.where} ({own}{managed}); {self.allowed()}"


def count_attachments(policy_type: str, where: str, own: Sequence[str], aws_managed: Sequence[str] | None = None,
                      own_words: str = "declared") -> AttachmentCount:
    """The one count of the policies of ``policy_type`` on one target (``where``: the target as a person names it).

    ``own``: the organization's policies there; ``aws_managed``: the AWS managed ones attached there as read from
    AWS; None (``awsorg validate``, which reads no AWS): the type's default (:data:`AWS_MANAGED_DEFAULT`), which AWS
    attaches to every target and nothing in the files detaches."""
    managed = aws_managed if aws_managed is not None else [AWS_MANAGED_DEFAULT[policy_type]] \
        if policy_type in AWS_MANAGED_DEFAULT else []
    return AttachmentCount(policy_type, where, tuple(own), tuple(managed), own_words)
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
#: IAM CreateRole/UpdateRole MaxSessionDuration (IAM API reference, CreateRole and UpdateRole, read 2026-12-07):
#: "This setting can have a value from 1 hour to 12 hours", "Valid Range: Minimum value of 3600. Maximum value of
#: 43200"; "If you do not specify a value for this setting, the default value of one hour is applied".
ROLE_SESSION_MIN = 3600
ROLE_SESSION_MAX = 43200
ROLE_SESSION_DEFAULT = 3600
#: IAM user guide, "IAM and AWS STS quotas" (read 2026-12-07): "Role trust policy length: 2,048 characters"
#: (adjustable up to 4,096 by a quota increase; the default is what the operator assumes), "IAM doesn't count white
#: space when calculating the size of a policy against these limits".
TRUST_POLICY_LENGTH = 2048
#: The same page (read 2026-12-08): "Managed policies attached to an IAM role: 10", adjustable ("You can request an
#: increase to a maximum of 25"); beyond it AttachRolePolicy answers LimitExceeded "Cannot exceed quota for
#: PoliciesPerRole". The default is a setting (``role-managed-policies``); 25 bounds the CRD.
DEFAULT_ROLE_MANAGED_POLICIES = 10
ROLE_MANAGED_POLICIES_MAX = 25
#: AWS Config's global IAM resource types (includeGlobalResourceTypes): "These global IAM resource types can only be
#: recorded by Config in Regions where Config was available before February 2022. You cannot be record the global
#: IAM resouce types in Regions supported by Config after February 2022" (botocore's config model, RecordingGroup,
#: read 2026-12-08); recorded in one region, they are not duplicated. The regions launched after February 2022 (AWS
#: Config developer guide, "Recording global resources", as far as known on 2026-12-08: the list grows with each
#: new region).
CONFIG_REGIONS_WITHOUT_GLOBAL_TYPES = frozenset({
    "ap-south-2", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ap-east-2", "ca-west-1", "eu-central-2",
    "eu-south-2", "il-central-1", "me-central-1", "mx-central-1"})
#: Conditions an accessRole may carry: the operator's own bound (not an AWS figure), so that the CRD's rules stay
#: within the API server's CEL cost budget; 20 short conditions already fill most of the 2,048 characters.
MAX_TRUST_CONDITIONS = 20
#: Values one condition may list (the operator's own bound, for the same reason).
MAX_CONDITION_VALUES = 20
#: IAM condition operators (IAM user guide, "IAM JSON policy elements: Condition operators", read 2026-12-07): each
#: may end in IfExists ("You can add IfExists to the end of any condition operator name except the Null condition")
#: and start with ForAllValues: or ForAnyValue: ("set operators", "Multivalued context keys"). Spelt exactly:
#: context key names are not case-sensitive ("IAM JSON policy elements: Condition"), operator names are compared
#: as written.
CONDITION_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
})
CONDITION_OPERATOR_PATTERN = ("^(ForAllValues:|ForAnyValue:)?((" + "|".join(sorted(CONDITION_OPERATORS - {"Null"}))
                              + ")(IfExists)?|Null)$")
CONDITION_OPERATOR_MAX = 64  # the longest is ForAllValues:StringNotEqualsIgnoreCaseIfExists (46)
CONDITION_OPERATOR_WORDS = ("an IAM condition operator (StringEquals, StringLike, ArnLike, Bool, NumericLessThan, "
                            "IpAddress, DateGreaterThan, Null, ...), with an optional IfExists suffix (not on Null) "
                            "and an optional ForAnyValue: or ForAllValues: prefix")
#: A condition context key: "service:name" (IAM user guide, "IAM JSON policy elements: Condition": global keys have
#: the aws: prefix, a service's keys its prefix), e.g. aws:PrincipalOrgID, sts:ExternalId, aws:PrincipalTag/team.
CONDITION_KEY_MAX = 256
CONDITION_KEY_PATTERN = r"^[A-Za-z0-9-]+:[\x21-\x7e]+$"
#: A condition value as the operator sends it (printable, no control characters: the trust policy's JSON).
CONDITION_VALUE_MAX = 1024


def condition_operator_problem(operator: str) -> str | None:
    """Why ``operator`` is not an IAM condition operator (None: it is)."""
    name = operator
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        name = name.removeprefix(prefix)
    name = name.removesuffix("IfExists") if name != "NullIfExists" else name  # not on Null
    if name in CONDITION_OPERATORS:
        return None
    return f"{operator!r} is not an IAM condition operator"


#: ServicePrincipal (organizations): ``"max": 128, "min": 1, "pattern": "[\w+=,.@-]*"``; PolicyName's characters
#: as the operator writes them
NAME_PATTERN = r"^[\w+=,.@-]+$"
NAME_CHARACTERS = "letters, digits and the characters +=,.@_-"

#: What each pattern allows, in the words every message uses (validate, the operator).
PATTERN_WORDS = {
    ROLE_NAME_PATTERN: NAME_CHARACTERS,
    CONDITION_OPERATOR_PATTERN: CONDITION_OPERATOR_WORDS,
    CONDITION_KEY_PATTERN: "a condition context key, service:name, like aws:PrincipalOrgID or sts:ExternalId",
    NAME_PATTERN: NAME_CHARACTERS,
    TAG_PATTERN: TAG_CHARACTERS,
    ACCOUNT_NAME_PATTERN: ACCOUNT_NAME_CHARACTERS,
    EMAIL_PATTERN: "an email address valid by CreateAccount's rules, like name@example.com",
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


# --------------------------------------------------------------------------------------------- settings

#: The figures an organization can have raised, or that AWS changes: ``--limits NAME=N,...`` or ``AWSORG_LIMITS``.
LIMITS_SETTING = "AWSORG_LIMITS"


@dataclass(frozen=True)
class Limits:
    """The operator's figures for AWS's adjustable or changing quotas, AWS's defaults unless configured; one value
    shared by ``awsorg validate``, ``awsorg plan`` and the operator (:func:`use` at their start, :func:`active`)."""

    scps_per_target: int = MAX_POLICIES_PER_TYPE[SCP]
    rcps_per_target: int = MAX_POLICIES_PER_TYPE[RCP]
    scp_characters: int = MAX_DOCUMENT_SIZE[SCP]
    rcp_characters: int = MAX_DOCUMENT_SIZE[RCP]
    accounts: int = DEFAULT_MAX_ACCOUNTS
    role_managed_policies: int = DEFAULT_ROLE_MANAGED_POLICIES
    #: closures per rolling 30 days; 0: AWS's figure for the organization's size (:func:`aws_closure_quota`)
    closures: int = 0

    def closure_quota(self, members: int) -> int:
        return self.closures or aws_closure_quota(members)

    def policies_per_target(self, policy_type: str) -> int:
        """SCPs and RCPs: the settings; a management type: AWS's quota (:data:`MAX_POLICIES_PER_TYPE`)."""
        if policy_type in MANAGEMENT_POLICY_TYPES:
            return MAX_POLICIES_PER_TYPE[policy_type]
        return self.rcps_per_target if policy_type == RCP else self.scps_per_target

    def document_size(self, policy_type: str) -> int | None:
        if policy_type in MANAGEMENT_POLICY_TYPES:
            return MAX_DOCUMENT_SIZE[policy_type]
        return {SCP: self.scp_characters, RCP: self.rcp_characters}.get(policy_type)

    @classmethod
    def parse(cls, text: str | None) -> Limits:
        """``scps-per-target=11,scp-characters=20480`` (names: :func:`limit_names`); ValueError naming the problem."""
        values: dict[str, int] = {}
        for item in (text or "").replace(";", ",").split(","):
            if not item.strip():
                continue
            name, sep, raw = item.partition("=")
            key = name.strip().replace("-", "_")
            if not sep or key not in {f.name for f in fields(cls)}:
                raise ValueError(f"{item.strip()!r}: expected NAME=N with NAME one of {', '.join(limit_names())}")
            try:
                value = int(raw.strip())
            except ValueError:
                raise ValueError(f"{item.strip()!r}: expected a whole number") from None
            if value < 1:
                raise ValueError(f"{item.strip()!r}: must be at least 1")
            values[key] = value
        return cls(**values)

    def describe(self) -> str:
        return ",".join(f"{f.name.replace('_', '-')}={getattr(self, f.name) or 'aws'}" for f in fields(self))


def limit_names() -> list[str]:
    return [f.name.replace("_", "-") for f in fields(Limits)]


def setting(name: str, value: int) -> str:
    """How a person changes one limit, in every message that depends on it."""
    return f"--limits {name}={value} (or {LIMITS_SETTING}={name}={value})"


_ACTIVE: list[Limits] = [Limits()]


def use(configured: Limits) -> None:
    """Set the limits of this process (the composition roots: ``awsorg run``, ``validate``, ``plan``)."""
    _ACTIVE[0] = configured


def active() -> Limits:
    return _ACTIVE[0]


def policy_limit_name(policy_type: str, what: str) -> str:
    """The setting of a limit (``scps-per-target``...); a management type's quota has none: how it is named."""
    if policy_type in MANAGEMENT_POLICY_TYPES:
        return f"AWS's quota for {policy_type}, {'per target' if what == 'count' else 'characters'}: not a setting"
    prefix = "rcp" if policy_type == RCP else "scp"
    return f"{prefix}s-per-target" if what == "count" else f"{prefix}-characters"


def refusal_hint(reason: str | None, policy_type: str | None = None) -> str | None:
    """When AWS refuses what the configured limits allowed: which setting to change; None for other refusals.
    ``policy_type`` None (an attachment does not carry it): both types' settings are named."""
    configured = active()
    if policy_type in MANAGEMENT_POLICY_TYPES:
        return None  # AWS's fixed quotas: no setting to change
    if reason == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED":
        what = "count"
    elif reason == "POLICY_CONTENT_LIMIT_EXCEEDED":
        what = "size"
    else:
        return None

    def one(kind: str) -> str:
        value = configured.policies_per_target(kind) if what == "count" else configured.document_size(kind) or 0
        return setting(policy_limit_name(kind, what), value - 1)

    settings = one(policy_type) if policy_type else f"{one(SCP)} for SCPs, {one(RCP)} for RCPs"
    return ("the operator's limits allowed it but this organization's quota is lower: set the limit to the quota "
            f"AWS applies to it, e.g. {settings} or lower, so that validate and plan refuse it before any AWS call")
