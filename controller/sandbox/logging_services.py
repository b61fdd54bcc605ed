"""CloudTrail and AWS Config as AWS decides them, where moto 5.2.5 does not: the organization trail and aggregator
need the organization's consent, and delivery to a log bucket needs that bucket's policy to admit the service.

moto creates an organization trail for any caller, into any existing bucket whatever its policy, and an
organization aggregator for any caller; it takes any delivery channel bucket ("We are going to assume that the
bucket has the correct policy attached to it", moto/config/models.py). The sandbox refuses what AWS refuses,
quoting botocore's service models (``botocore/data/cloudtrail/2013-11-01``, ``config/2014-11-12``), so a test of
the central logging baseline cannot pass on a bucket policy or an order of steps that AWS would refuse:

* CreateTrail/UpdateTrail with ``IsOrganizationTrail``: "cannot be true unless the call is made on behalf of an
  Amazon Web Services account that is the management account or delegated administrator account for an
  organization" (NotOrganizationMasterAccountException); "All features must be enabled in Organizations to
  support creating an organization trail" (OrganizationNotInAllFeaturesModeException); "thrown when trusted
  access has not been enabled between CloudTrail and Organizations" (CloudTrailAccessNotEnabledException);
  and the bucket's policy must let ``cloudtrail.amazonaws.com`` call ``s3:GetBucketAcl`` on the bucket and
  ``s3:PutObject`` under ``AWSLogs/<management account>/`` and ``AWSLogs/<organization id>/`` ("This exception
  is thrown when the policy on the S3 bucket is not sufficient": InsufficientS3BucketPolicyException; the
  CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail", organization trails).
* PutConfigurationAggregator with an ``OrganizationAggregationSource``: "you must be signed in to the management
  account or a registered delegated administrator and all the features must be enabled in your organization
  ... If the caller is a registered delegated administrator, Config calls ListDelegatedAdministrators API to
  verify whether the caller is a valid delegated administrator" (OrganizationAccessDeniedException,
  OrganizationAllFeaturesNotEnabledException); the RoleArn must name a role of the caller's account that Config
  may assume (InvalidRoleException).
* PutDeliveryChannel: "If you specify a bucket that belongs to another AWS account, that bucket must have
  policies that grant access permissions to AWS Config" (DeliveryChannel.s3BucketName); otherwise
  InsufficientDeliveryPolicyException, "Your Amazon S3 bucket policy does not allow Config to write to it". A
  bucket that does not exist: NoSuchBucketException, "The specified Amazon S3 bucket does not exist".

* PutEventSelectors: basic or advanced selectors, not both, at most five, only KMS and RDS Data API events
  excluded (``_event_selectors``); GetEventSelectors of a new trail answers CloudTrail's default (all management
  events), where moto answers none.
* S3 versioning and Object Lock (``_versioning_or_lock``): versioning is never suspended on a bucket with Object
  Lock; Object Lock is enabled on an existing bucket (with objects too) once its versioning is on.

Bucket policies are evaluated for what the service's delivery request carries: its service principal, the
action and object ARN, and the context keys ``aws:SourceOrgID``, ``aws:SourceAccount``, ``aws:SourceArn``,
``aws:SecureTransport`` (``true``: services deliver over TLS) and ``s3:x-amz-acl`` (``bucket-owner-full-control``).
An explicit Deny wins; a condition on a key the request does
not carry does not match (IAM policy reference, "Condition operators": "If the key that you specify in a
policy condition is not present in the request context, the values do not match").

What CloudTrail and Config evaluate is the bucket policy and role they see, which after a fresh write is the
previous one for a while (:mod:`controller.sandbox.propagation`): CreateTrail right after PutBucketPolicy answers
InsufficientS3BucketPolicyException, PutDeliveryChannel InsufficientDeliveryPolicyException, the aggregator right
after its role's CreateRole InvalidRoleException, as in AWS.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any

from controller.sandbox.propagation import Propagation

CLOUDTRAIL_TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CONFIG_TARGET_PREFIX = "StarlingDoveService."
CLOUDTRAIL = "cloudtrail.amazonaws.com"
CONFIG = "config.amazonaws.com"
ACL = "bucket-owner-full-control"


class ServiceError(Exception):
    """An error answered the way the JSON-protocol services (CloudTrail, Config) answer it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _condition_holds(condition: Any, context: Mapping[str, str]) -> bool:
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            return False
        op = str(operator).removesuffix("IfExists")
        for key, wanted in pairs.items():
            actual = next((v for k, v in context.items() if k.lower() == str(key).lower()), None)
            if actual is None:
                if str(operator).endswith("IfExists"):
                    continue
                return False
            values = [str(w) for w in _as_list(wanted)]
            if op in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif op == "StringEqualsIgnoreCase":
                ok = actual.lower() in [v.lower() for v in values]
            elif op in ("StringLike", "ArnLike"):
                ok = any(_matches(v, actual) for v in values)
            elif op in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in values
            elif op == "Bool":
                ok = actual.lower() in [v.lower() for v in values]
            else:
                return False  # an operator this sandbox does not evaluate: not admitted (fail closed)
            if not ok:
                return False
    return True


def _statement_applies(stmt: Mapping[str, Any], service: str, action: str, resource: str,
                       context: Mapping[str, str]) -> bool:
    principal = stmt.get("Principal")
    if principal != "*":
        services = principal.get("Service") if isinstance(principal, dict) else None
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        if service not in [str(s) for s in _as_list(services)] and "*" not in [str(a) for a in _as_list(aws)]:
            return False
    if not any(_matches(str(a), action, case=False) for a in _as_list(stmt.get("Action"))):
        return False
    if not any(_matches(str(r), resource) for r in _as_list(stmt.get("Resource"))):
        return False
    return _condition_holds(stmt.get("Condition"), context)


def policy_admits(policy: str | bytes | None, service: str, action: str, resource: str,
                  context: Mapping[str, str]) -> bool:
    """Whether a bucket policy lets ``service`` do ``action`` on ``resource`` with this request context."""
    if not policy:
        return False
    try:
        parsed = json.loads(policy)
    except ValueError:
        return False
    statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    applicable = [s for s in _as_list(statements) if isinstance(s, dict)
                  and _statement_applies(s, service, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in applicable):
        return False
    return any(s.get("Effect") == "Allow" for s in applicable)


# ------------------------------------------------------------------------------------------ moto's state


def _organization(account_id: str) -> tuple[Any, str] | None:
    """(the moto Organizations backend of the account's organization, the management account id)."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    management, partition = owner if owner else (account_id, "aws")
    backend = organizations_backends[management][partition]
    return (backend, management) if backend.org is not None else None


def _trusted(backend: Any, principal: str) -> bool:
    return any(s.get("ServicePrincipal") == principal for s in backend.services)


def _bucket(name: str) -> tuple[Any, str] | None:
    """(the bucket, its owning account) wherever it is (bucket names are global)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    bucket = s3_backends[account][partition].buckets.get(name)
    return (bucket, account) if bucket is not None else None


def _policy_text(bucket: Any) -> str | None:
    policy = getattr(bucket, "policy", None)
    if isinstance(policy, bytes):
        return policy.decode()
    return str(policy) if policy else None


# ------------------------------------------------------------------------------------------ CloudTrail


def _check_organization_trail(params: Mapping[str, Any], caller: str, region: str, update: bool,
                              seen: Propagation) -> None:
    found = _organization(caller)
    if found is None or found[1] != caller:
        raise ServiceError("NotOrganizationMasterAccountException",
                           f"The request was made by account {caller}, which is not the management account of an "
                           "organization in AWS Organizations.")
    backend, management = found
    if backend.org.feature_set != "ALL":
        raise ServiceError("OrganizationNotInAllFeaturesModeException",
                           "All features must be enabled in Organizations to support creating an organization "
                           "trail.")
    if not _trusted(backend, CLOUDTRAIL):
        raise ServiceError("CloudTrailAccessNotEnabledException",
                           "Trusted access has not been enabled between CloudTrail and Organizations.")
    name = str(params.get("Name", ""))
    bucket_name = params.get("S3BucketName")
    if bucket_name is None and update:
        from moto.cloudtrail.models import cloudtrail_backends

        trail = cloudtrail_backends[caller][region].trails.get(name.rsplit("/", 1)[-1])
        bucket_name = trail.bucket_name if trail is not None else None
    if not bucket_name:
        return  # moto answers a missing bucket name
    bucket = _bucket(str(bucket_name))
    if bucket is None:
        raise ServiceError("S3BucketDoesNotExistException", f"S3 bucket {bucket_name} does not exist.")
    trail_arn = f"arn:aws:cloudtrail:{region}:{management}:trail/{name.rsplit('/', 1)[-1]}"
    if not trail_delivery_admitted(str(bucket_name), str(params.get("S3KeyPrefix") or ""), management,
                                   backend.org.id, trail_arn, seen):
        raise ServiceError("InsufficientS3BucketPolicyException",
                           f"Incorrect S3 bucket policy is detected for bucket: {bucket_name}")


def trail_delivery_admitted(bucket_name: str, prefix: str, account: str, organization_id: str | None,
                            trail_arn: str, seen: Propagation) -> bool:
    """Whether the bucket's policy (as CloudTrail sees it now) lets CloudTrail deliver this trail's log files:
    s3:GetBucketAcl on the bucket, s3:PutObject under ``AWSLogs/<account>/`` and, for an organization trail,
    ``AWSLogs/<organization id>/``. False also when the bucket is gone."""
    bucket = _bucket(bucket_name)
    if bucket is None:
        return False
    context = {"aws:SourceAccount": account, "aws:SourceArn": trail_arn, "aws:SecureTransport": "true",
               **({"aws:SourceOrgID": organization_id} if organization_id else {})}
    base = f"arn:aws:s3:::{bucket_name}/{prefix + '/' if prefix else ''}AWSLogs"
    policy = seen.bucket_policy(bucket_name, _policy_text(bucket[0]))
    needed = [("s3:GetBucketAcl", f"arn:aws:s3:::{bucket_name}", context)] + [
        ("s3:PutObject", f"{base}/{owner}/example.json.gz", {**context, "s3:x-amz-acl": ACL})
        for owner in (account, organization_id) if owner]
    return all(policy_admits(policy, CLOUDTRAIL, action, resource, ctx) for action, resource, ctx in needed)


def _is_organization_trail(caller: str, region: str, name: str) -> bool:
    from moto.cloudtrail.models import cloudtrail_backends

    trail = cloudtrail_backends[caller][region].trails.get(name.rsplit("/", 1)[-1])
    return bool(trail is not None and trail.is_org_trail)


#: "In this release, the list can be empty (disables the filter), or it can filter out Key Management Service or
#: Amazon RDS Data API events" (botocore's cloudtrail model, EventSelector.ExcludeManagementEventSources).
EXCLUDABLE_SOURCES = frozenset({"kms.amazonaws.com", "rdsdata.amazonaws.com"})
#: "You can configure up to five event selectors for a trail" (PutEventSelectorsRequest.EventSelectors).
MAX_EVENT_SELECTORS = 5
#: "By default, trails created without specific event selectors are configured to log all read and write management
#: events, and no data events" (PutEventSelectors); moto gives a new trail none.
DEFAULT_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                    "ExcludeManagementEventSources": []}


def _trail(caller: str, region: str, name: str) -> Any:
    from moto.cloudtrail.models import cloudtrail_backends

    return cloudtrail_backends[caller][region].trails.get(name.rsplit("/", 1)[-1])


def _event_selectors(operation: str, params: Mapping[str, Any], caller: str, region: str) -> None:
    """PutEventSelectors as CloudTrail takes it: "You can use either AdvancedEventSelectors or EventSelectors, but
    not both"; at most five selectors; only KMS and RDS Data API may be excluded (InvalidEventSelectorsException,
    "called with a number of event selectors ... that is not valid"). Either kind replaces the other ("If you
    apply EventSelectors to a trail, any existing AdvancedEventSelectors are overwritten"): moto keeps the
    advanced ones. GetEventSelectors of a trail never given selectors answers CloudTrail's default."""
    trail = _trail(caller, region, str(params.get("TrailName", "")))
    if trail is None:
        return  # moto answers TrailNotFoundException
    if operation == "GetEventSelectors":
        if not trail.event_selectors and not trail.advanced_event_selectors:
            trail.event_selectors = [dict(DEFAULT_SELECTOR)]
        return
    basic, advanced = params.get("EventSelectors"), params.get("AdvancedEventSelectors")
    if basic is not None and advanced is not None:
        raise ServiceError("InvalidParameterCombinationException",
                           "You can use either AdvancedEventSelectors or EventSelectors, but not both.")
    if basic is not None:
        if not isinstance(basic, list) or not 1 <= len(basic) <= MAX_EVENT_SELECTORS:
            raise ServiceError("InvalidEventSelectorsException",
                               f"A trail can have 1 to {MAX_EVENT_SELECTORS} event selectors.")
        for selector in basic:
            excluded = set((selector or {}).get("ExcludeManagementEventSources") or [])
            if excluded - EXCLUDABLE_SOURCES:
                raise ServiceError("InvalidEventSelectorsException",
                                   f"ExcludeManagementEventSources can contain only {sorted(EXCLUDABLE_SOURCES)}; "
                                   f"got {sorted(excluded - EXCLUDABLE_SOURCES)}.")
        trail.advanced_event_selectors = []
    elif not advanced:
        raise ServiceError("InvalidEventSelectorsException", "Specify EventSelectors or AdvancedEventSelectors.")


# ------------------------------------------------------------------------------------------ Config


def _check_organization_aggregator(params: Mapping[str, Any], caller: str, seen: Propagation) -> None:
    source = params.get("OrganizationAggregationSource")
    if not isinstance(source, dict):
        return
    found = _organization(caller)
    if found is None:
        raise ServiceError("NoAvailableOrganizationException", "Organization is no longer available.")
    backend, management = found
    if backend.org.feature_set != "ALL":
        raise ServiceError("OrganizationAllFeaturesNotEnabledException",
                           "Config resource cannot be created because your organization does not have all features "
                           "enabled.")
    if caller != management:
        admin = next((a for a in backend.admins if a.account.id == caller), None)
        if admin is None or CONFIG not in admin.services or not _trusted(backend, CONFIG):
            raise ServiceError("OrganizationAccessDeniedException",
                               f"Account {caller} is not a registered delegated administrator for Config "
                               f"({CONFIG}) in its organization.")
    role_arn = str(source.get("RoleArn", ""))
    if not _role_trusts(role_arn, caller, CONFIG, seen):
        raise ServiceError("InvalidRoleException",
                           f"The role {role_arn!r} does not exist in account {caller} or does not let {CONFIG} "
                           "assume it.")


def _role_trusts(role_arn: str, account: str, service: str, seen: Propagation) -> bool:
    from moto.iam.models import iam_backends

    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[4] != account or not parts[5].startswith("role/"):
        return False
    name = parts[5].rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[account]["global"].roles.values() if r.name == name), None)
    document = seen.trust_policy(account, name, str(role.assume_role_policy_document)) if role is not None else None
    if document is None:
        return False
    try:
        trust = json.loads(document)
    except ValueError:
        return False
    return any(isinstance(s, dict) and s.get("Effect") == "Allow"
               and service in [str(p) for p in _as_list((s.get("Principal") or {}).get("Service"))]
               for s in _as_list(trust.get("Statement", [])))


def _check_delivery_channel(params: Mapping[str, Any], caller: str, seen: Propagation) -> None:
    channel = params.get("DeliveryChannel")
    if not isinstance(channel, dict) or not channel.get("s3BucketName"):
        return  # moto answers these
    bucket_name = str(channel["s3BucketName"])
    bucket = _bucket(bucket_name)
    if bucket is None:
        raise ServiceError("NoSuchBucketException", "The specified Amazon S3 bucket does not exist.")
    if not config_delivery_admitted(bucket_name, str(channel.get("s3KeyPrefix") or ""), caller, seen):
        raise ServiceError("InsufficientDeliveryPolicyException",
                           "Your Amazon S3 bucket policy does not allow Config to write to it.")


def config_delivery_admitted(bucket_name: str, prefix: str, caller: str, seen: Propagation) -> bool:
    """Whether the bucket's policy (as Config sees it now) lets AWS Config of account ``caller`` deliver there:
    s3:GetBucketAcl on the bucket and s3:PutObject under ``AWSLogs/<caller>/Config/``. A bucket of the caller's
    own account needs no policy; False when the bucket is gone."""
    bucket = _bucket(bucket_name)
    if bucket is None:
        return False
    if bucket[1] == caller:
        return True
    found = _organization(caller)
    context = {"aws:SourceAccount": caller, "aws:SecureTransport": "true",
               **({"aws:SourceOrgID": found[0].org.id} if found else {})}
    key = f"arn:aws:s3:::{bucket_name}/{prefix + '/' if prefix else ''}AWSLogs/{caller}/Config/example.json.gz"
    policy = seen.bucket_policy(bucket_name, _policy_text(bucket[0]))
    return (policy_admits(policy, CONFIG, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket_name}", context)
            and policy_admits(policy, CONFIG, "s3:PutObject", key, {**context, "s3:x-amz-acl": ACL}))


# ------------------------------------------------------------------------------------------ the hook


def refusal(target: str, body: bytes, caller: str, region: str, seen: Propagation | None = None) -> ServiceError | None:
    """The error AWS would answer to this CloudTrail or Config request where moto would accept it; None: moto
    answers. ``caller``: the account moto resolves the request's credentials to; ``region``: its signing region;
    ``seen``: the policy changes still propagating (None: none)."""
    seen = seen or Propagation()
    if target.startswith(CLOUDTRAIL_TARGET_PREFIX):
        operation = target.removeprefix(CLOUDTRAIL_TARGET_PREFIX)
    elif target.startswith(CONFIG_TARGET_PREFIX):
        operation = target.removeprefix(CONFIG_TARGET_PREFIX)
    else:
        return None
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    try:
        organization_trail = params.get("IsOrganizationTrail") is True or (
            operation == "UpdateTrail" and "IsOrganizationTrail" not in params
            and _is_organization_trail(caller, region, str(params.get("Name", ""))))
        if operation in ("CreateTrail", "UpdateTrail") and organization_trail:
            _check_organization_trail(params, caller, region, update=operation == "UpdateTrail", seen=seen)
        elif operation in ("PutEventSelectors", "GetEventSelectors"):
            _event_selectors(operation, params, caller, region)
        elif operation == "PutConfigurationAggregator":
            _check_organization_aggregator(params, caller, seen)
        elif operation == "PutDeliveryChannel":
            _check_delivery_channel(params, caller, seen)
    except ServiceError as err:
        return err
    return None


# ------------------------------------------------------------------------------------------ IAM


_MANAGED: dict[str, Any] | None = None


def provide_managed_policy(body: bytes, caller: str) -> None:
    """AWS managed policies (``arn:aws:iam::aws:policy/...``) exist in every account, as in AWS ("AWS managed
    policies ... are created and administered by AWS", IAM user guide); moto loads them only with
    MOTO_IAM_LOAD_MANAGED_POLICIES, a thousand per account. Before an AttachRolePolicy of one, the sandbox puts
    that one policy (moto's copy of AWS's document) into the caller's account."""
    global _MANAGED
    from urllib.parse import parse_qs

    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    arn = (parse_qs(body.decode("utf-8", "replace")).get("PolicyArn") or [""])[0]
    if not arn.startswith("arn:aws:iam::aws:policy/"):
        return
    if _MANAGED is None:
        _MANAGED = json.loads(aws_managed_policies_data)
    name = arn.rsplit("/", 1)[-1]
    backend = iam_backends[caller]["global"]
    if name in _MANAGED and arn not in backend.managed_policies:
        policy = AWSManagedPolicy.from_data(name, caller, "us-east-1", _MANAGED[name])
        backend.managed_policies[policy.arn] = policy


# ------------------------------------------------------------------------------------------ S3

#: Condition keys whose fixed values make a statement with Principal "*" non-public (S3 user guide, "The meaning of
#: public": a policy is non-public when it grants only to fixed principals or under fixed values of such keys).
_LIMITING_KEYS = frozenset(k.lower() for k in ("aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgID",
                                                "aws:SourceOwner", "aws:PrincipalOrgID", "aws:PrincipalAccount",
                                                "aws:PrincipalArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp",
                                                "aws:userid"))


def is_public(policy: str | bytes) -> bool:
    """Whether a bucket policy allows public access: an Allow to everyone (``*``) with no fixed-value condition on a
    key that limits who it is."""
    try:
        parsed = json.loads(policy)
    except ValueError:
        return False
    for stmt in _as_list(parsed.get("Statement", []) if isinstance(parsed, dict) else []):
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if "*" not in [str(p) for p in _as_list(aws)]:
            continue
        condition = stmt.get("Condition") or {}
        keys = {str(k).lower() for pairs in condition.values() if isinstance(pairs, dict) for k in pairs}
        if not keys & _LIMITING_KEYS:
            return True
    return False


#: What the sandbox's requests carry for a bucket policy's conditions: the sandbox serves plain HTTP in place of
#: S3's TLS endpoints (boto3 uses HTTPS against AWS), so a request stands for one made over TLS.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def bucket_permission(bucket: Any, action: str, resource: str) -> Any:
    """moto's check of an object request against the bucket policy (``FakeBucket.get_permission``), with the
    statements' conditions evaluated: moto's own check ignores them ("Conditions are not taken into account",
    moto/s3/models.py, put_bucket_policy), so a TLS-only ``Deny`` (``aws:SecureTransport`` ``false``) would deny
    every request, which S3 does only to a request without TLS. Like moto, statements with ``Principal`` ``*``
    only; a condition on a key the request does not carry does not match."""
    from moto.iam.access_control import PermissionResult

    policy = _policy_text(bucket)
    try:
        parsed = json.loads(policy) if policy else {}
    except ValueError:
        return PermissionResult.NEUTRAL
    result = PermissionResult.NEUTRAL
    for stmt in _as_list(parsed.get("Statement", []) if isinstance(parsed, dict) else []):
        if not isinstance(stmt, dict) or stmt.get("Principal") not in ("*", {"AWS": "*"}):
            continue
        if not any(_matches(str(a), action, case=False) for a in _as_list(stmt.get("Action"))):
            continue
        if not any(_matches(str(r), resource) for r in _as_list(stmt.get("Resource"))):
            continue
        if not _condition_holds(stmt.get("Condition"), REQUEST_CONTEXT):
            continue
        if stmt.get("Effect") == "Deny":
            return PermissionResult.DENIED
        if stmt.get("Effect") == "Allow":
            result = PermissionResult.PERMITTED
    return result


def _s3_error(status: str, code: str, message: str) -> tuple[str, bytes]:
    return status, (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
                    "</Error>").encode()


def _xml_text(body: bytes, tag: str) -> str | None:
    import re

    found = re.search(rf"<{tag}>([^<]*)</{tag}>".encode(), body)
    return found.group(1).decode() if found else None


def _versioning_or_lock(bucket: Any, query: Mapping[str, Any], body: bytes) -> tuple[str, bytes] | None:
    """Versioning and Object Lock as S3 decides them (S3 user guide, "Configuring S3 Object Lock", read 2026-12-07):
    "After you enable Object Lock on a bucket, you can't disable Object Lock or suspend versioning for that bucket"
    (moto suspends it: InvalidBucketState here); "You can enable Object Lock for new or existing buckets"
    (botocore's s3 model, PutObjectLockConfiguration), versioning on first ("Before you lock any objects, you must
    enable S3 Versioning and Object Lock"), where moto refuses a bucket that holds objects ("Bucket needs to be
    empty"): the sandbox enables it on moto's bucket itself, for every bucket."""
    if "versioning" in query:
        if getattr(bucket, "object_lock_enabled", False) and _xml_text(body, "Status") == "Suspended":
            return _s3_error("409 Conflict", "InvalidBucketState", "An Object Lock configuration is present on this "
                             "bucket, so the versioning state cannot be changed.")
        return None
    if "object-lock" not in query:
        return None
    if getattr(bucket, "versioning_status", None) != "Enabled":
        return _s3_error("409 Conflict", "InvalidBucketState",
                         "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
    if _xml_text(body, "ObjectLockEnabled") != "Enabled":
        return _s3_error("400 Bad Request", "MalformedXML", "The XML you provided was not well-formed or did not "
                         "validate against our published schema")
    mode, days, years = _xml_text(body, "Mode"), _xml_text(body, "Days"), _xml_text(body, "Years")
    if (mode is None) != (days is None and years is None) or (days is not None and years is not None):
        return _s3_error("400 Bad Request", "MalformedXML", "The DefaultRetention settings require both a mode and "
                         "a period, Days or Years")
    if any(v is not None and (not v.isdigit() or int(v) < 1) for v in (days, years)):
        return _s3_error("400 Bad Request", "InvalidArgument", "Default retention period must be a positive integer "
                         "value.")
    bucket.object_lock_enabled = True  # moto's own answer would also leave the unused period None, on which its
    bucket.default_lock_mode = mode  # PutObject into the bucket fails (FakeBucket.default_retention): 0 there
    bucket.default_lock_days = int(days) if days else 0
    bucket.default_lock_years = int(years) if years else 0
    return "200 OK", b""


def s3_refusal(method: str, path: str, query: str, body: bytes) -> tuple[str, bytes] | None:
    """PutBucketPolicy on a bucket whose public access block has BlockPublicPolicy: "Setting this element to TRUE
    causes Amazon S3 to reject calls to PUT Bucket policy if the specified bucket policy allows public access"
    (botocore's s3 model, PublicAccessBlockConfiguration.BlockPublicPolicy). moto stores any policy. Versioning
    and Object Lock: ``_versioning_or_lock``. Returns (status, XML body) of S3's answer, or None to let moto
    answer."""
    from urllib.parse import parse_qs

    parsed = parse_qs(query, keep_blank_values=True)
    if method != "PUT":
        return None
    name = path.strip("/").split("/", 1)[0]
    found = _bucket(name)
    if found is not None and ("versioning" in parsed or "object-lock" in parsed):
        return _versioning_or_lock(found[0], parsed, body)
    if "policy" not in parsed or found is None or not body:
        return None
    block = getattr(found[0], "public_access_block", None)
    if block is None or not getattr(block, "block_public_policy", False) or not is_public(body):
        return None
    return _s3_error("403 Forbidden", "AccessDenied", "Access Denied")
