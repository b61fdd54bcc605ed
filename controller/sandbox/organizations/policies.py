"""AWS Organizations' policies as the sandbox plays them: CreatePolicy, UpdatePolicy, DeletePolicy, AttachPolicy,
DetachPolicy, and the default policy AWS attaches when a policy type is enabled.  Documents are checked by
:mod:`controller.sandbox.organizations.policy_grammar`.
"""

from __future__ import annotations

from typing import Any

from moto.organizations.models import FakePolicy

from controller.sandbox.organizations import management
from controller.sandbox.organizations.base import (
    NAME_MAX,
    Ctx,
    Middleware,
    OrganizationsError,
    _attach,
    _check_max_length,
    _constraint,
    _enabled_policy_types,
    _find_policy,
    _invalid,
    _require_org,
    _require_policy,
    _require_target,
    post_hook,
    rule,
)
from controller.sandbox.organizations.policy_grammar import check_policy_document

#: AWS quotas: at most 5 SCPs and 5 RCPs attached directly to one root, OU or account (aws_limits sets the current
#: figures); the management types' figures, with their sources: :data:`management.ATTACHMENTS_PER_TARGET`.
MAX_ATTACHMENTS_PER_TYPE = {"SERVICE_CONTROL_POLICY": 5, "RESOURCE_CONTROL_POLICY": 5,
                            **management.ATTACHMENTS_PER_TARGET}
#: The AWS managed policy that AWS attaches to every root, OU and account when the type is enabled.
DEFAULT_POLICY_FOR_TYPE = {
    "SERVICE_CONTROL_POLICY": "p-FullAWSAccess",
    "RESOURCE_CONTROL_POLICY": "p-RCPFullAWSAccess",
}
DESCRIPTION_MAX = 512  # PolicyDescription: "max": 512


# --------------------------------------------------------------------------------------------------
# Policies


def _check_policy_name(backend: Any, name: Any, policy_type: str, exclude: FakePolicy | None = None) -> None:
    """DuplicatePolicyException: "A policy with the same name already exists." -- names are unique
    per policy type (moto compares across all types, refusing an RCP named like an SCP)."""
    _check_max_length(name, NAME_MAX)
    if any(p is not exclude and p.type == policy_type and p.name == name for p in backend.policies):
        raise OrganizationsError("DuplicatePolicyException", "A policy with the same name already exists.")


def _check_not_managed(policy: FakePolicy) -> None:
    """InvalidInputException IMMUTABLE_POLICY: "You specified a policy that is managed by Amazon
    Web Services and can't be modified." (moto lets FullAWSAccess be edited and deleted)."""
    if policy.aws_managed:
        raise _invalid("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")


@rule("CreatePolicy")
def _create_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """CreatePolicy: malformed document -> MalformedPolicyDocumentException; document larger than
    the type's quota -> ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED; name already
    used by a policy of the same type -> DuplicatePolicyException; name > 128 or description > 512
    characters -> InvalidInputException MAX_LENGTH_EXCEEDED.  See :func:`check_policy_document`.

    CreatePolicy does *not* require the type to be enabled in the root (its documented errors do
    not include PolicyTypeNotEnabledException; only AttachPolicy does), so it is not refused.
    Answered here so that names are unique per type rather than across types.
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    policy_type = str(params.get("Type", ""))
    if policy_type not in management.POLICY_TYPES:
        return None  # moto answers a type botocore does not know: InvalidInputException
    _check_max_length(params.get("Description"), DESCRIPTION_MAX)
    _check_policy_name(backend, params.get("Name"), policy_type)
    check_policy_document(policy_type, params.get("Content"))
    policy = management.new_policy(backend.org, **params)
    backend.policies.append(policy)
    return dict(policy.describe())


@rule("UpdatePolicy")
def _update_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """UpdatePolicy: same document and name rules as CreatePolicy (moto checks neither), and AWS
    managed policies are immutable (InvalidInputException IMMUTABLE_POLICY)."""
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    policy = _require_policy(backend, params.get("PolicyId"))
    _check_not_managed(policy)
    if "Name" in params:
        _check_policy_name(backend, params["Name"], policy.type, exclude=policy)
    _check_max_length(params.get("Description"), DESCRIPTION_MAX)
    if "Content" in params:
        check_policy_document(policy.type, params["Content"])
    return None


@rule("DeletePolicy")
def _delete_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DeletePolicy of an AWS managed policy -> InvalidInputException IMMUTABLE_POLICY."""
    _require_org(ctx.backend)
    _check_not_managed(_require_policy(ctx.backend, ctx.params.get("PolicyId")))
    return None


@rule("AttachPolicy")
def _attach_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """AttachPolicy.

    * type not enabled in the root -> PolicyTypeNotEnabledException ("The specified policy type
      isn't currently enabled in this root. You can't attach policies of the specified type to
      entities in a root until you enable that type in the root.");
    * already attached -> DuplicatePolicyAttachmentException ("The selected policy is already
      attached to the specified target."); moto silently accepts;
    * a 6th SCP (or RCP) on one target -> ConstraintViolationException
      MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED ("You attempted to exceed the number of policies of
      a certain type that can be attached to an entity at one time.");
    * unknown target -> TargetNotFoundException ("We can't find a root, OU, account, or policy with
      the TargetId that you specified."); moto answers OrganizationalUnitNotFoundException or
      AccountNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    policy = _require_policy(backend, ctx.params.get("PolicyId"))
    target = _require_target(backend, ctx.params.get("TargetId"))
    if policy.type not in _enabled_policy_types(backend):
        raise OrganizationsError(
            "PolicyTypeNotEnabledException",
            "The specified policy type isn't currently enabled in this root. You can't attach policies "
            "of the specified type to entities in a root until you enable that type in the root.",
        )
    if policy in target.attached_policies:
        raise OrganizationsError(
            "DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target."
        )
    limit = MAX_ATTACHMENTS_PER_TYPE.get(policy.type)
    if limit is not None and sum(p.type == policy.type for p in target.attached_policies) >= limit:
        raise _constraint(
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies of a certain type that can be attached to "
            "an entity at one time.",
        )
    _attach(policy, target)
    return {}


@rule("DetachPolicy")
def _detach_policy(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DetachPolicy.

    * the last SCP of a target -> ConstraintViolationException
      MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED ("Every root, OU, and account must have at least
      one SCP attached. If you want to replace the default FullAWSAccess policy with an SCP that
      limits the permissions that can be delegated, you must attach the replacement SCP before you
      can remove the default SCP."); moto detaches it;
    * RCPFullAWSAccess -> InvalidInputException NON_DETACHABLE_POLICY ("You can't detach this
      Amazon Web Services Managed Policy.");
    * not attached -> PolicyNotAttachedException ("The policy isn't attached to the specified
      target in the specified root."); moto silently accepts;
    * unknown target -> TargetNotFoundException.
    """
    backend = ctx.backend
    _require_org(backend)
    policy = _require_policy(backend, ctx.params.get("PolicyId"))
    target = _require_target(backend, ctx.params.get("TargetId"))
    if policy not in target.attached_policies:
        raise OrganizationsError(
            "PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root."
        )
    if policy.id == DEFAULT_POLICY_FOR_TYPE["RESOURCE_CONTROL_POLICY"]:
        raise _invalid("NON_DETACHABLE_POLICY", "You can't detach this AWS Managed Policy.")
    if (
        policy.type == "SERVICE_CONTROL_POLICY"
        and sum(p.type == "SERVICE_CONTROL_POLICY" for p in target.attached_policies) <= 1
    ):
        raise _constraint(
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would cause the entity to have fewer "
            "than the minimum number of policies of a certain type required.",
        )
    target.attached_policies.remove(policy)
    if target in policy.attachments:
        policy.attachments.remove(target)
    return {}


@post_hook("EnablePolicyType")
def _after_enable_policy_type(mw: Middleware, ctx: Ctx) -> None:
    """When SCPs (RCPs) are enabled, AWS attaches the AWS managed FullAWSAccess (RCPFullAWSAccess)
    policy to the root, every OU and every account -- DetachPolicy: "If you want to replace the
    default FullAWSAccess policy [...]".  New OUs and accounts get it too (moto attaches it on
    creation; :func:`normalize_policy_attachments` removes it while the type is not enabled)."""
    backend = ctx.backend
    policy_id = DEFAULT_POLICY_FOR_TYPE.get(str(ctx.params.get("PolicyType")))
    policy = _find_policy(backend, policy_id) if policy_id else None
    if policy is None:
        return
    for target in [*backend.ou, *backend.accounts]:
        _attach(policy, target)

