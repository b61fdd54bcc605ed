"""What `kubectl explain` and `kubectl get -o wide` show of our kinds (issue 21 item 8), with the real kubectl
against the sandbox's API server, which publishes the CRDs' schemas as /openapi/v3 like a real one.

- every field has a description, status included (metadata is the server's ObjectMeta: a CRD may not describe it);
- every default is said in words in the description (`kubectl explain` shows a field's enum, never its default),
  so the defaults that differ by kind (deletionPolicy: Retain for accounts, Delete for OUs and SCPs) are visible;
- `-o wide` adds the priority-1 columns (the Synced reason, the deletion policy...) to the default ones.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.api import crds
from controller.api.models import KINDS
from controller.sandbox.kube import KubeSandbox
from tests.sandbox.test_kube_kubectl import Kubectl, make_kubectl, manifest

KUBECTL = shutil.which("kubectl")


def _fields(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema) of every field: object properties, also inside array items (``conditions.type``)."""
    node = schema
    while node.get("type") == "array" and "items" in node:
        node = node["items"]
    for name, sub in (node.get("properties") or {}).items():
        yield f"{path}.{name}".lstrip("."), sub
        yield from _fields(sub, f"{path}.{name}")


def _object_paths(schema: dict[str, Any]) -> list[str]:
    return [p for p, sub in _fields(schema) if p != "metadata" and (sub.get("properties") or (
        sub.get("type") == "array" and (sub.get("items") or {}).get("properties")))]


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_every_field_has_a_description_and_says_its_default(info: Any) -> None:
    schema = crds.crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema.get("description")
    for path, sub in _fields(schema):
        if path == "metadata":
            continue
        assert sub.get("description", "").strip(), f"{info.kind}.{path}: no description"
        if "default" in sub:
            value = sub["default"]
            shown = ("true" if value else "false") if isinstance(value, bool) else (str(value) if value != "" else '""')
            assert sub["description"].endswith(f"Default: {shown}."), f"{info.kind}.{path}: default not said"


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    with KubeSandbox(crds.all_crds()) as sandbox:
        yield make_kubectl(sandbox, tmp_path_factory.mktemp("explain"))


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_kubectl_explain_describes_every_field(kubectl: Kubectl, info: Any) -> None:
    schema = crds.crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path in ["", *_object_paths(schema)]:
        out = kubectl("explain", f"{info.plural}{'.' + path if path else ''}").stdout
        listed = re.findall(r"^  (\w+)\t<", out, re.M)
        assert listed, f"kubectl explain {info.plural}.{path}: no FIELDS\n{out}"
        # metadata excepted at the top (ObjectMeta: described on a real server, bare here)
        hidden = [line for line in out.splitlines() if "<no description>" in line or "<empty>" in line]
        if path == "":
            out = re.sub(r"  metadata\t<Object>\n    <no description>\n", "", out)
            hidden = [line for line in out.splitlines() if "<no description>" in line or "<empty>" in line]
        assert not hidden, f"kubectl explain {info.plural}.{path} shows no description:\n{out}"


@pytest.mark.parametrize(("plural", "default"), [("awsaccounts", "Retain"), ("orgunits", "Delete"),
                                                 ("servicecontrolpolicies", "Delete"), ("organizations", "Retain")])
def test_kubectl_explain_shows_the_deletion_policy_default_of_each_kind(kubectl: Kubectl, plural: str,
                                                                        default: str) -> None:
    out = kubectl("explain", f"{plural}.spec.deletionPolicy").stdout
    assert f"Default: {default}." in " ".join(out.split()), out


def test_get_o_wide_adds_the_reason_and_deletion_columns(kubectl: Kubectl, tmp_path: Path) -> None:
    ou = {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "OrgUnit", "metadata": {"name": "wide"},
          "spec": {"name": "Wide"}}
    kubectl("apply", "-f", manifest(tmp_path, ou))
    plain = kubectl("get", "ou", "wide").stdout.splitlines()[0].split()
    wide = kubectl("get", "ou", "wide", "-o", "wide").stdout.splitlines()
    header = wide[0].split()
    assert "REASON" not in plain and "DELETION" not in plain
    assert {"PARENT", "REASON", "DELETION"} <= set(header) and set(plain) <= set(header)
    start = wide[0].index("DELETION")  # cells may be empty: read the column where its header is
    assert wide[1][start:].split()[0] == "Delete", "the API server's default, as the column shows it"
    for info in KINDS:
        assert any(c.get("priority") == 1 for c in info.printer_columns), f"{info.kind}: -o wide adds nothing"
