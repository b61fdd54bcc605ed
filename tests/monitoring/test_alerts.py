"""The alert rules in deploy/monitoring/prometheusrule.yaml, unit-tested with promtool.

promtool reads plain rule files, so the test writes the PrometheusRule's ``spec.groups`` to ``rules.yaml``
next to a copy of ``deploy/monitoring/tests/alerts-test.yaml``: the rules tested are the rules deployed.
promtool comes with Debian's ``prometheus`` package (`make test` installs it); without it these tests fail.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULE = MONITORING / "prometheusrule.yaml"
ALERT_TESTS = MONITORING / "tests" / "alerts-test.yaml"

EXPECTED_ALERTS = {
    "AwsOrgDriftPersisting",
    "AwsOrgReconcileErrors",
    "AwsOrgResourceNotReady",
    "AwsOrgResyncStalled",
    "AwsOrgResyncFailing",
    "AwsOrgResourceNotCompared",
    "AwsOrgUnmanagedResources",
    "AwsOrgAwsThrottling",
    "AwsOrgOperatorDown",
    "AwsOrgNoActiveReplica",
    "AwsOrgTrailNotLogging",
    "AwsOrgEvidenceDeliveryFailing",
    "AwsOrgEventsWithoutTrail",
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _load(RULE)["spec"]["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found: install the Debian package `prometheus` (apt-get install -y prometheus), "
            "as `make test` does; the alert rules cannot be tested without it"
        )
    return path


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rules.yaml (the CR's spec.groups) and alerts-test.yaml side by side, as the test file expects."""
    directory = tmp_path_factory.mktemp("promtool")
    groups = _load(RULE)["spec"]["groups"]
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(ALERT_TESTS, directory / "alerts-test.yaml")
    return directory


def _run(promtool: str, *args: str, cwd: Path) -> None:
    result = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_prometheusrule_resource() -> None:
    rule = _load(RULE)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["namespace"] == "awsorg-system"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    kustomization = _load(MONITORING / "kustomization.yaml")
    assert "prometheusrule.yaml" in kustomization["resources"]


def test_every_alert_is_documented_and_actionable() -> None:
    rules = _rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) == EXPECTED_ALERTS
    docs = (ROOT / "docs" / "monitoring.md").read_text()
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert len(annotations["description"]) > 100, f"{name}: the description should say what to do"
        anchor = name.lower()
        assert annotations["runbook_url"] == f"docs/monitoring.md#{anchor}", name
        assert f"### {name}\n" in docs, f"docs/monitoring.md has no section for {name}"


def test_promtool_check_rules(promtool: str, rule_dir: Path) -> None:
    _run(promtool, "check", "rules", "rules.yaml", cwd=rule_dir)


def test_promtool_test_rules(promtool: str, rule_dir: Path) -> None:
    _run(promtool, "test", "rules", "alerts-test.yaml", cwd=rule_dir)


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: dict[str, int] = defaultdict(int)
    quiet: dict[str, int] = defaultdict(int)
    for group in _load(ALERT_TESTS)["tests"]:
        for case in group.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet)[case["alertname"]] += 1
    missing_firing = sorted(EXPECTED_ALERTS - set(firing))
    missing_quiet = sorted(EXPECTED_ALERTS - set(quiet))
    assert not missing_firing, f"alerts without a test case where they fire: {missing_firing}"
    assert not missing_quiet, f"alerts without a test case where they do not fire: {missing_quiet}"
    assert set(firing) | set(quiet) <= EXPECTED_ALERTS, "test cases for alerts that do not exist"
