"""IAM's centralized root access, which moto 5.2.5 does not implement, and the root user's credentials as IAM's
GetAccountSummary reports them.

The four organization operations (botocore's ``iam`` model, 2010-05-08, read 2026-12-07):
``ListOrganizationsFeatures``, ``EnableOrganizationsRootCredentialsManagement``, ``EnableOrganizationsRootSessions``
and the two ``Disable`` ones take no parameters and answer ``OrganizationId`` and ``EnabledFeatures``
(``RootCredentialsManagement``, ``RootSessions``). The sandbox refuses as their errors say:

- ``OrganizationNotFoundException``: "The request was rejected because no organization is associated with your
  account."
- ``OrganizationNotInAllFeaturesModeException``: "The request was rejected because your organization does not have
  All features enabled."
- ``ServiceAccessNotEnabledException``: "The request was rejected because trusted access is not enabled for IAM in
  Organizations." (the Enable operations' documentation: before enabling, "Enable trusted access for Identity and
  Access Management in Organizations").
- ``CallerIsNotManagementAccountException`` (the two Enable operations): "The request was rejected because the
  account making the request is not the management account for the organization."
- ``AccountNotManagementOrDelegatedAdministratorException`` (List, Disable): "The request was rejected because the
  account making the request is not the management account or delegated administrator account for centralized
  root access." (IAM's delegated administrator is ``iam.amazonaws.com``'s.)

The state is the organization's (kept here by organization id, reset with the sandbox). moto's GetAccountSummary has
no ``AccountPasswordPresent`` key (botocore's ``summaryKeyType`` lists it) and always answers the root user's
``AccountAccessKeysPresent``/``AccountMFAEnabled``/``AccountSigningCertificatesPresent`` 0: the sandbox keeps what
each account's root user holds (:func:`give_root_credentials`, the console's doing in AWS) and answers it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from moto.organizations.models import organizations_backends

OPERATIONS = frozenset({"ListOrganizationsFeatures", "EnableOrganizationsRootCredentialsManagement",
                        "EnableOrganizationsRootSessions", "DisableOrganizationsRootCredentialsManagement",
                        "DisableOrganizationsRootSessions"})
IAM_PRINCIPAL = "iam.amazonaws.com"
FEATURES = {"RootCredentials": "RootCredentialsManagement", "RootSessions": "RootSessions"}
#: GetAccountSummary's keys about the root user, and the credential each stands for.
SUMMARY_KEYS = {"password": "AccountPasswordPresent", "accessKeys": "AccountAccessKeysPresent",
                "signingCertificates": "AccountSigningCertificatesPresent", "mfa": "AccountMFAEnabled"}
MESSAGES = {
    "OrganizationNotFoundException": "The request was rejected because no organization is associated with your "
    "account.",
    "OrganizationNotInAllFeaturesModeException": "The request was rejected because your organization does not have "
    "All features enabled.",
    "ServiceAccessNotEnabledException": "The request was rejected because trusted access is not enabled for IAM in "
    "Organizations.",
    "CallerIsNotManagementAccountException": "The request was rejected because the account making the request is "
    "not the management account for the organization.",
    "AccountNotManagementOrDelegatedAdministratorException": "The request was rejected because the account making "
    "the request is not the management account or delegated administrator account for centralized root access.",
}

_lock = threading.Lock()
_features: dict[str, set[str]] = {}  # organization id -> enabled features
_root: dict[str, set[str]] = {}  # account id -> what its root user holds (password, accessKeys, ...)
_installed = False


def reset() -> None:
    with _lock:
        _features.clear()
        _root.clear()


def give_root_credentials(account_id: str, *credentials: str) -> None:
    """The account's root user holds these (``password``, ``accessKeys``, ``signingCertificates``, ``mfa``); none:
    it holds nothing (as after a person deleted them, or for an account Organizations created)."""
    unknown = set(credentials) - set(SUMMARY_KEYS)
    if unknown:
        raise ValueError(f"unknown root credentials {sorted(unknown)}; allowed: {sorted(SUMMARY_KEYS)}")
    with _lock:
        _root[account_id] = set(credentials)


def enabled_features(organization_id: str) -> set[str]:
    with _lock:
        return set(_features.get(organization_id, ()))


def _organization(caller: str) -> tuple[Any, str] | None:
    owner = organizations_backends.master_accounts.get(caller)
    management, partition = owner if owner else (caller, "aws")
    backend = organizations_backends[management][partition]
    return (backend, management) if backend.org is not None else None


def answer(operation: str, caller: str) -> tuple[str, bytes]:
    """(status, XML body) for one of :data:`OPERATIONS` called by ``caller``: IAM's refusal or its answer."""
    found = _organization(caller)
    if found is None:
        return _error("OrganizationNotFoundException")
    backend, management = found
    if backend.org.feature_set != "ALL":
        return _error("OrganizationNotInAllFeaturesModeException")
    if caller != management:
        admins = {a.account.id for a in getattr(backend, "admins", []) if IAM_PRINCIPAL in getattr(a, "services", {})}
        if operation.startswith("Enable"):
            return _error("CallerIsNotManagementAccountException")
        if caller not in admins:
            return _error("AccountNotManagementOrDelegatedAdministratorException")
    if not any(s.get("ServicePrincipal") == IAM_PRINCIPAL for s in backend.services):
        return _error("ServiceAccessNotEnabledException")
    org_id = backend.org.id
    with _lock:
        features = _features.setdefault(org_id, set())
        for prefix, add in (("EnableOrganizations", True), ("DisableOrganizations", False)):
            if operation.startswith(prefix):
                feature = FEATURES[operation.removeprefix(prefix).removesuffix("Management")]
                (features.add if add else features.discard)(feature)
        listed = sorted(features)
    members = "".join(f"<member>{f}</member>" for f in listed)
    xml = (f'<{operation}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><{operation}Result>'
           f"<OrganizationId>{org_id}</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"
           f"</{operation}Result><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
           f"</{operation}Response>")
    return "200 OK", xml.encode()


def summary(account_id: str) -> dict[str, int]:
    """GetAccountSummary's root user keys for the account, as the sandbox holds them."""
    with _lock:
        held = _root.get(account_id, set())
    return {key: int(name in held) for name, key in SUMMARY_KEYS.items()}


def install() -> None:
    """moto's AccountSummary answers the root user's keys from :func:`summary` (its account's); and IAM's trusted
    access, which moto's list of trusted services lacks (Organizations user guide, "AWS Identity and Access
    Management and AWS Organizations": trusted access for centralized root access, service principal
    ``iam.amazonaws.com``; read 2026-12-07), is accepted."""
    from moto.iam import models
    from moto.organizations.models import FakeServiceAccess

    if IAM_PRINCIPAL not in FakeServiceAccess.TRUSTED_SERVICES:
        FakeServiceAccess.TRUSTED_SERVICES.append(IAM_PRINCIPAL)

    global _installed
    if _installed:
        return
    _installed = True
    original: Any = models.AccountSummary.summary_map

    def summary_map(self: Any) -> dict[str, Any]:
        found = dict(original.fget(self))
        found.update(summary(self._iam_backend.account_id))
        return found

    setattr(models.AccountSummary, "summary_map", property(summary_map))  # noqa: B010


def _error(code: str) -> tuple[str, bytes]:
    xml = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
           f"<Code>{code}</Code><Message>{MESSAGES[code]}</Message></Error>"
           f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return "400 Bad Request", xml.encode()


install()
