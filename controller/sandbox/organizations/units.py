"""AWS Organizations' organizational units as the sandbox plays them: CreateOrganizationalUnit,
UpdateOrganizationalUnit, DeleteOrganizationalUnit (what moto accepts and AWS refuses).
"""

from __future__ import annotations

from typing import Any

from controller.sandbox.organizations.base import (
    NAME_MAX,
    OU_ID_RE,
    PARENT_ID_RE,
    Ctx,
    Middleware,
    OrganizationsError,
    _check_max_length,
    _constraint,
    _depth,
    _find_container,
    _find_ou,
    _invalid,
    _require_org,
    rule,
)

#: "For service control policies, the limit is five." (CreateOrganizationalUnit)
MAX_OU_DEPTH = 5


@rule("CreateOrganizationalUnit")
def _create_ou(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """CreateOrganizationalUnit.

    * name longer than 128 -> InvalidInputException MAX_LENGTH_EXCEEDED ("You provided a string
      parameter that is longer than allowed."; OrganizationalUnitName "max": 128);
    * ParentId not matching its pattern -> InvalidInputException INVALID_PATTERN;
    * parent that does not exist -> ParentNotFoundException ("We can't find a root or OU with the
      ParentId that you specified."); moto creates the OU under a non-existent parent;
    * an OU with the same name under the same parent -> DuplicateOrganizationalUnitException
      ("An OU with the same name already exists."); moto accepts it;
    * nesting deeper than five levels -> ConstraintViolationException OU_DEPTH_LIMIT_EXCEEDED
      ("You attempted to create an OU tree that is too many levels deep."; "The number of levels
      deep that you can nest OUs is dependent upon the policy types enabled for that root. For
      service control policies, the limit is five.").
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    name = params.get("Name")
    _check_max_length(name, NAME_MAX)
    parent_id = str(params.get("ParentId", ""))
    if not PARENT_ID_RE.match(parent_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    parent = _find_container(backend, parent_id)
    if parent is None:
        raise OrganizationsError(
            "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."
        )
    if any(ou.parent_id == parent_id and ou.name == name for ou in backend.ou):
        raise OrganizationsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
    if _depth(backend, parent) + 1 > MAX_OU_DEPTH:
        raise _constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
    return None  # moto creates it; the generic post-processing drops default attachments


@rule("UpdateOrganizationalUnit")
def _update_ou(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """UpdateOrganizationalUnit: "Renames the specified organizational unit (OU)."

    A name used by another OU under the same parent -> DuplicateOrganizationalUnitException.
    Answered here because moto refuses a name used by *any* OU anywhere (and renaming an OU to
    its own name), which AWS allows.  Unknown OU -> OrganizationalUnitNotFoundException.
    """
    backend, params = ctx.backend, ctx.params
    _require_org(backend)
    ou = _find_ou(backend, str(params.get("OrganizationalUnitId", "")))
    if ou is None:
        raise OrganizationsError(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        )
    name = params.get("Name")
    if name is not None:
        _check_max_length(name, NAME_MAX)
        if any(o is not ou and o.parent_id == ou.parent_id and o.name == name for o in backend.ou):
            raise OrganizationsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
        ou.name = name
    return dict(ou.describe())


@rule("DeleteOrganizationalUnit")
def _delete_ou(mw: Middleware, ctx: Ctx) -> dict[str, Any] | None:
    """DeleteOrganizationalUnit: "You must first remove all accounts and child OUs from the OU that
    you want to delete." -> OrganizationalUnitNotEmptyException ("The specified OU is not empty.
    Move all accounts to another root or to other OUs, remove all child OUs, and try the
    operation again.").  moto deletes non-empty OUs (orphaning children) and leaves the deleted
    OU in its policies' attachment lists; answered here.
    """
    backend = ctx.backend
    _require_org(backend)
    ou_id = str(ctx.params.get("OrganizationalUnitId", ""))
    if not OU_ID_RE.match(ou_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    ou = _find_ou(backend, ou_id)
    if ou is None:
        raise OrganizationsError(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        )
    if any(o.parent_id == ou_id for o in backend.ou) or any(a.parent_id == ou_id for a in backend.accounts):
        raise OrganizationsError(
            "OrganizationalUnitNotEmptyException",
            "The specified OU is not empty. Move all accounts to another root or to other OUs, "
            "remove all child OUs, and try the operation again.",
        )
    for policy in list(ou.attached_policies):
        if ou in policy.attachments:
            policy.attachments.remove(ou)
    ou.attached_policies.clear()
    backend.ou.remove(ou)
    return {}

