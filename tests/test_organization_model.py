"""The Organization kind: its CRD says what SPEC promises, and admission refuses what it must."""

from __future__ import annotations

from typing import Any

import pytest

from controller.api.crds import crd
from controller.api.models import ORGANIZATION, OrganizationSpec
from controller.api.validation import admit

API = "awsorg.gitops.dev/v1alpha1"


def org(name: str = "organization", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": name}, "spec": spec}


def test_names_scope_category_and_columns() -> None:
    names = crd(ORGANIZATION)["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"], names["categories"]) == (
        "Organization", "organizations", ["org"], ["awsorg"])
    columns = [c["name"] for c in crd(ORGANIZATION)["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:2] == ["ID", "Features"] and "Baseline" in columns


def test_defaults_follow_the_spec() -> None:
    stored = admit(org(), "Organization").obj["spec"]
    assert stored["featureSet"] == "ALL"
    assert stored["deletionPolicy"] == "Retain"
    assert stored["managementPolicy"] == "Manage"
    assert "policyTypes" not in stored  # absent: policy types are left as they are


def test_another_name_is_refused_at_admission() -> None:
    """A singleton: the API server refuses a second object with a clear message, before the operator sees it."""
    causes = admit(org("org-two"), "Organization").causes
    assert [c.field for c in causes] == ["metadata.name"]
    assert "singleton" in causes[0].detail and "'organization'" in causes[0].detail
    assert admit(org(), "Organization").causes == []


@pytest.mark.parametrize("admin, ok", [
    ({"accountRef": {"name": "shared"}, "servicePrincipal": "config.amazonaws.com"}, True),
    ({"accountId": "123456789012", "servicePrincipal": "config.amazonaws.com"}, True),
    ({"servicePrincipal": "config.amazonaws.com"}, False),
    ({"accountRef": {"name": "shared"}, "accountId": "123456789012", "servicePrincipal": "config.amazonaws.com"},
     False),
    ({"accountId": "1234", "servicePrincipal": "config.amazonaws.com"}, False),
])
def test_a_delegated_administrator_names_exactly_one_account(admin: dict[str, Any], ok: bool) -> None:
    causes = admit(org(trustedServices=["config.amazonaws.com"], delegatedAdministrators=[admin]),
                   "Organization").causes
    assert (causes == []) is ok, causes


def test_the_whole_spec_of_the_contract_is_accepted() -> None:
    """centralLogging and accessRole are modelled as SPEC says, though not reconciled yet."""
    spec = {
        "featureSet": "ALL",
        "policyTypes": ["SERVICE_CONTROL_POLICY", "TAG_POLICY"],
        "trustedServices": ["cloudtrail.amazonaws.com", "config.amazonaws.com"],
        "delegatedAdministrators": [{"accountRef": {"name": "shared-services"},
                                     "servicePrincipal": "config.amazonaws.com"}],
        "centralLogging": {"accountRef": {"name": "shared-services"}, "bucketName": "org-logs-example",
                           "retentionDays": 365, "cloudTrail": {"enabled": True, "trailName": "org-trail"},
                           "config": {"enabled": True, "regions": ["us-east-1", "eu-west-1"],
                                      "aggregatorName": "org"}},
        "accessRole": {"roleName": "PlatformEngineer",
                       "trustedPrincipals": ["arn:aws:iam::123456789012:role/Engineers"],
                       "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        "deletionPolicy": "Delete",
    }
    admission = admit(org(**spec), "Organization")
    assert admission.causes == [] and admission.unknown_fields == []
    parsed = OrganizationSpec.model_validate(admission.obj["spec"])
    assert parsed.central_logging is not None and parsed.central_logging.home_region == "us-east-1"
    assert parsed.access_role is not None and parsed.access_role.role_name == "PlatformEngineer"


def test_the_operator_refuses_a_delegated_administrator_for_a_service_without_delegation() -> None:
    """The adapter's own check (before any AWS call) reads the planner's list, the one the sandbox enforces."""
    from controller.api.models import OrganizationSpec
    from controller.reconciler.organization import OrganizationAdapter

    spec = OrganizationSpec.model_validate({
        "trustedServices": ["s3.amazonaws.com", "config.amazonaws.com"],
        "delegatedAdministrators": [{"accountId": "210987654321", "servicePrincipal": "s3.amazonaws.com"},
                                    {"accountId": "210987654321", "servicePrincipal": "config.amazonaws.com"}]})
    refusal = OrganizationAdapter().check("organization", spec, {})
    assert refusal is not None and "spec.delegatedAdministrators[0].servicePrincipal: 's3.amazonaws.com' does " \
        "not support a delegated administrator" in refusal and "[1]" not in refusal
