"""The CRDs are generated from the models; the committed files must match, and carry what SPEC promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.api import crds as crdgen
from controller.api import limits
from controller.api.models import KINDS

ROOT = Path(__file__).resolve().parent.parent


def test_committed_crds_match_the_models() -> None:
    expected = crdgen.files()
    committed = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    assert set(committed) == set(expected), "run `awsorg crds --out crds/`"
    for name, content in expected.items():
        assert committed[name] == content, f"crds/{name} is stale: run `awsorg crds --out crds/`"


@pytest.mark.parametrize("info", KINDS, ids=[k.kind for k in KINDS])
def test_crd_names_scope_and_columns(info: object) -> None:
    crd = crdgen.crd(info)  # type: ignore[arg-type]
    spec = crd["spec"]
    assert spec["group"] == "awsorg.gitops.dev"
    assert spec["scope"] == "Cluster"
    assert spec["names"]["categories"] == ["awsorg"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    for wanted in ("ID", "Ready", "Synced", "Drifted", "Age"):
        assert wanted in columns


def _walk(schema: dict, path: str = "") -> list[tuple[str, dict]]:
    out = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        out += _walk(sub, f"{path}.{name}" if path else name)
    if "items" in schema:
        out += _walk(schema["items"], path + "[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += _walk(schema["additionalProperties"], path + "{}")
    return out


@pytest.mark.parametrize("info", KINDS, ids=[k.kind for k in KINDS])
def test_schemas_are_structural(info: object) -> None:
    """Kubernetes rejects CRDs whose schema uses anyOf without types, $ref, null types or titles."""
    schema = crdgen.crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[arg-type]
    for path, node in _walk(schema):
        assert "$ref" not in node and "anyOf" not in node and "title" not in node, path
        assert node.get("type") != "null", path
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        if "default" in node:
            assert node["default"] is not None, path


def test_account_schema_rules() -> None:
    spec = crdgen.crd(KINDS[1])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(spec["required"]) == {"accountName", "email"}
    assert spec["properties"]["email"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    # CreateAccount's email rules: one CEL rule each (their message names the rule), not one opaque pattern
    assert len(spec["properties"]["email"]["x-kubernetes-validations"]) == 1 + len(limits.EMAIL_CEL_RULES)
    assert spec["properties"]["accountId"]["pattern"] == r"^\d{12}$"
    assert spec["properties"]["deletionPolicy"]["default"] == "Retain"
    assert spec["properties"]["deletionPolicy"]["enum"] == ["Retain", "RemoveFromOrganization", "Close"]


def test_orgunit_schema_rules() -> None:
    spec = crdgen.crd(KINDS[0])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["name"]["maxLength"] == 128
    assert spec["properties"]["parentId"]["pattern"].startswith("^(r-")
    assert spec["properties"]["deletionPolicy"]["default"] == "Delete"
    assert spec["properties"]["managementPolicy"]["enum"] == ["Manage", "Observe"]


def test_policy_document_is_free_form() -> None:
    spec = crdgen.crd(KINDS[2])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["document"].get("x-kubernetes-preserve-unknown-fields") is True
    assert spec["properties"]["targets"]["properties"]["ids"]["items"]["pattern"]


def test_crds_cli_prints_parseable_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    from controller.cli import main

    assert main(["crds"]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert {d["spec"]["names"]["kind"] for d in docs} == {"OrgUnit", "AwsAccount", "ServiceControlPolicy",
                                                              "ManagementPolicy", "Organization"}
