"""YAML read as kubectl reads it (controller/workflow/safeyaml.GoLoader), checked against the real kubectl.

kubectl (and ArgoCD, and the API server) decode YAML with sigs.k8s.io/yaml (go-yaml v2, then JSON), PyYAML by
YAML 1.1: where the two disagree, `awsorg validate` must give the verdict the API server gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.api.models import API_VERSION
from controller.sandbox.kube import KubeSandbox
from controller.workflow import safeyaml
from controller.workflow.validate import validate_texts
from tests.sandbox.conftest import WIDGET_CRD
from tests.sandbox.test_kube_kubectl import KUBECTL, make_kubectl

ROOT = Path(__file__).resolve().parents[1]

# The forms where YAML 1.1 (PyYAML) and go-yaml v2 disagree, and some where they agree, as plain scalars.
CORPUS = [
    "049474891394", "0800", "017", "09", "0", "00", "-0", "+12", "1e3", "1E3", "1e+3", "12e03", "-1e-3", "1.",
    "0.", ".5", "01.5", "6.8523015e+5", "685_230.15", "1_000", "0x1F", "-0x1F", "0x", "0o17", "0o", "0b101",
    "123456789012345678901234", "18446744073709551615", "9223372036854775808", "1e400",
    "yes", "Yes", "YES", "no", "NO", "on", "On", "off", "OFF", "y", "Y", "n", "N", "true", "False", "TRUE",
    "~", "null", "Null", "NULL", "", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "2024-13-45", "12:30",
    "190:20:30", "=", "<<x", ".x", "0.1.2", "1_", "_1", "+", "-1-", "0xG", "1e", "nan", "inf",
]
KEYS = ["yes", "n", "0800", "1e6", "1.5", "12", "0x10", "true", "0.00001", "-0"]
NON_FINITE = [".inf", "-.Inf", "+.INF", ".nan", ".NaN"]


def _document(spec_lines: list[str]) -> str:
    return ("apiVersion: sandbox.test.dev/v1\nkind: Widget\nmetadata:\n  name: corpus\nspec:\n"
            + "".join(f"  {line}\n" for line in spec_lines))


def _corpus_yaml() -> str:
    values = [f"v{i}: {text}" for i, text in enumerate(CORPUS)]
    keys = ["keys:"] + [f"  {key}: k{i}" for i, key in enumerate(KEYS)]
    quoted = [f"q{i}: '{text}'" for i, text in enumerate(CORPUS[:5])]
    tagged = ["t0: !!str 0800", "t1: !!float 12", "t2: !!int '0x10'", "t3: !foo bar"]
    return _document(values + keys + quoted + tagged)


def test_the_corpus_decodes_as_go_yaml_does_without_kubectl() -> None:
    """What the module's docstring promises, so that the rules hold where kubectl is not installed."""
    spec = next(safeyaml.safe_load_all(_corpus_yaml()))["spec"]
    value = {text: spec[f"v{i}"] for i, text in enumerate(CORPUS)}
    assert value["049474891394"] == 49474891394 and value["0800"] == 800 and value["017"] == 15
    assert value["1e3"] == 1000 and isinstance(value["1e3"], int) and value["0x1F"] == 31 and value["0o17"] == 15
    assert value["yes"] is True and value["on"] is True and value["y"] is True and value["N"] is False
    assert value["2024-01-01"] == "2024-01-01" and value["12:30"] == "12:30" and value["~"] is None
    assert value["0x"] == "0x" and value["1e400"] == "1e400" and value[".5"] == 0.5
    assert set(spec["keys"]) == {"true", "false", "800", "1e+06", "1.5", "12", "16", "1e-05", "0"}
    assert spec["t0"] == "0800" and spec["t1"] == 12 and spec["t2"] == 16 and spec["t3"] == "bar"


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_the_corpus_decodes_as_the_real_kubectl_decodes_it(tmp_path: Path) -> None:
    text = _corpus_yaml()
    (tmp_path / "corpus.yaml").write_text(text)
    with KubeSandbox([WIDGET_CRD]) as sandbox:
        kubectl = make_kubectl(sandbox, tmp_path)
        printed = json.loads(kubectl("create", "--dry-run=client", "--validate=false", "-o", "json", "-f",
                                     str(tmp_path / "corpus.yaml")).stdout)
        ours, theirs = next(safeyaml.safe_load_all(text))["spec"], printed["spec"]
        mismatches = {key: (ours.get(key), theirs.get(key)) for key in sorted(set(ours) | set(theirs))
                      if ours.get(key) != theirs.get(key) or type(ours.get(key)) is not type(theirs.get(key))}
        assert mismatches == {}, {k: (CORPUS[int(k[1:])] if k.startswith("v") else k, v) for k, v in mismatches.items()}

        # JSON has no infinity and no NaN: kubectl refuses the whole file, and so does validate.
        for form in NON_FINITE:
            (tmp_path / "inf.yaml").write_text(_document([f"size: {form}"]))
            refused = kubectl("create", "--dry-run=client", "--validate=false", "-o", "json", "-f",
                              str(tmp_path / "inf.yaml"), check=False)
            assert refused.returncode != 0 and "unsupported value" in refused.stderr
            report = validate_texts([("inf.yaml", _document([f"size: {form}"]))])
            assert report.errors and "kubectl cannot convert it to JSON" in report.errors[0].message, form


def _account(account_id: str, extra: str = "") -> str:
    return (f"apiVersion: {API_VERSION}\nkind: AwsAccount\nmetadata:\n  name: trial\nspec:\n"
            f"  accountName: Trial\n  email: trial@example.com\n  accountId: {account_id}\n{extra}")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize(("account_id", "extra", "accepted"), [
    ("049474891394", "", False),  # a number to kubectl: "must be of type string"
    ("'049474891394'", "", True),
    ("'149474891394'", "  tags:\n    costcenter: 0800\n", False),  # a number where a string is required
    ("'149474891394'", "  tags:\n    build: 1e3\n", False),
    ("'149474891394'", "  tags:\n    enabled: yes\n", False),
    ("'149474891394'", "  tags:\n    released: 2024-01-01\n    build: '1e3'\n", True),  # dates stay strings
])
def test_validate_gives_the_verdict_the_api_server_gives(tmp_path: Path, account_id: str, extra: str,
                                                         accepted: bool) -> None:
    text = _account(account_id, extra)
    report = validate_texts([("trial.yaml", text)])
    assert (not report.errors) == accepted, [f.message for f in report.errors]
    crds = [doc for path in sorted((ROOT / "crds").glob("*.yaml"))
            for doc in safeyaml.safe_load_all(path.read_text()) if doc]
    (tmp_path / "trial.yaml").write_text(text)
    with KubeSandbox(crds) as sandbox:
        kubectl = make_kubectl(sandbox, tmp_path)
        applied = kubectl("apply", "-f", str(tmp_path / "trial.yaml"), check=False)
        assert (applied.returncode == 0) == accepted, applied.stderr
        if not accepted:
            assert "must be of type string" in applied.stderr or "Invalid value" in applied.stderr


