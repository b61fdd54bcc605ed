"""The Grafana dashboard and the alert rules only use metrics the operator exports (controller.metrics)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "monitoring" / "grafana-dashboard.json"
RULE = ROOT / "deploy" / "monitoring" / "prometheusrule.yaml"

# Metrics that are not the operator's: Prometheus's own per-target series.
FOREIGN = {"up"}

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
             "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w:$.])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(\s*\()?")


def exported_series() -> set[str]:
    """The series names a scrape of the operator can hold (counters as *_total, histograms as their parts),
    built from the metric families' types so that metrics without samples yet are included too."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        suffixes = _SUFFIXES.get(family.type)
        assert suffixes is not None, f"{family.name}: unexpected metric type {family.type}"
        names.update(family.name + suffix for suffix in suffixes)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels, keywords or Grafana variables)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _dashboard_exprs() -> list[tuple[str, str]]:
    out = []
    for panel in _panels(_dashboard()["panels"]):
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    for variable in _dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            out.append((f"variable {variable['name']}", query["query"] if isinstance(query, dict) else query))
    return out


def _alert_exprs() -> list[tuple[str, str]]:
    rule = yaml.safe_load(RULE.read_text())
    return [(r["alert"], r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"]]


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (kind, le) (rate(foo_bucket{kind=~"$kind", x="a{b}"}[$__rate_interval])))'
        " / on (kind) group_left bar_total and time() - baz offset 5m"
    )
    assert metric_names(expr) == {"foo_bucket", "bar_total", "baz"}
    assert metric_names('label_values(awsorg_resource_ready, kind)') == {"awsorg_resource_ready", "kind"}


def test_exported_series_follow_spec() -> None:
    names = exported_series()
    for spec_name in (
        "awsorg_reconcile_total", "awsorg_reconcile_duration_seconds_bucket", "awsorg_aws_api_calls_total",
        "awsorg_resource_ready", "awsorg_resource_drifted", "awsorg_drift_detected_total",
        "awsorg_drift_corrected_total", "awsorg_unmanaged_resources", "awsorg_last_sync_timestamp_seconds",
    ):
        assert spec_name in names


@pytest.mark.parametrize(("where", "expr"), _dashboard_exprs() + _alert_exprs())
def test_expressions_use_exported_metrics(where: str, expr: str) -> None:
    allowed = exported_series() | FOREIGN
    used = metric_names(expr)
    if where.startswith("variable "):
        used -= {"kind"}  # label_values(metric, label): the label is not a metric
    assert used, f"{where}: no metric found in {expr!r}"
    unknown = sorted(used - allowed)
    assert not unknown, f"{where}: {expr!r} uses metrics the operator does not export: {unknown}"
    # Belt and braces: every awsorg_* token anywhere in the expression is exported.
    unknown = sorted(set(re.findall(r"awsorg_\w+", expr)) - allowed)
    assert not unknown, f"{where}: {expr!r} names unknown awsorg metrics: {unknown}"


def test_every_exported_metric_is_on_the_dashboard() -> None:
    used = set().union(*(metric_names(expr) for _, expr in _dashboard_exprs()))
    for family in metrics.REGISTRY.collect():
        series = {family.name + suffix for suffix in _SUFFIXES[family.type]}
        assert series & used, f"{family.name} is on no panel"


def test_dashboard_promql_parses(tmp_path: Path) -> None:
    """promtool parses every panel's expression (Grafana's variables replaced by what Grafana sends)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install the Debian package `prometheus` (apt-get install -y prometheus)")
    rules = []
    for index, (where, expr) in enumerate(_dashboard_exprs()):
        if where.startswith("variable "):
            continue  # label_values() is Grafana's, not PromQL
        expr = expr.replace("$__rate_interval", "2m").replace("$kind", ".*")
        rules.append({"record": f"dashboard:expr_{index}", "expr": expr})
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", "dashboard.yaml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_is_valid() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids are not unique"
    for panel in panels:
        assert panel.get("title"), panel["id"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert target["expr"].count("(") == target["expr"].count(")"), panel["title"]
    titles = {p["title"] for p in panels}
    for needed in ("Not Ready objects", "Drifted objects", "Throttled share", "Reconcile latency p50 / p95",
                   "Last sync age", "Unmanaged resources by kind"):
        assert needed in titles
