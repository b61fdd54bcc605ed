"""The README and docs/ say what the repository has, and the repository has nothing they do not say (issue 21
item 8): the metrics (names, and the `kind` label's values), the settings, the kinds and their number, the
files they point at, and where events go. Each list is derived from the code, not written here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from controller.api.models import KINDS
from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KIND_NAMES = {k.kind for k in KINDS}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def _text() -> str:
    return "\n".join(p.read_text() for p in DOCS)


def _metrics_in_code() -> set[str]:
    """The first argument of every Counter/Gauge/Histogram/Summary/Info in controller/metrics.py."""
    tree = ast.parse((ROOT / "controller" / "metrics.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "Counter", "Gauge", "Histogram", "Summary", "Info") and node.args:
            first = node.args[0]
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), ast.dump(first)
            names.add(first.value)
    return names


def _settings_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "controller").rglob("*.py"):
        if "sandbox" not in path.parts:
            found |= set(re.findall(r"\"(AWSORG_[A-Z_]+)\"", path.read_text()))
    return found


def test_every_documented_metric_exists_and_every_metric_is_documented() -> None:
    code = _metrics_in_code()
    assert len(code) >= 10, "the derivation finds the metrics"
    documented = set()
    for name in re.findall(r"\bawsorg_[a-z_]+[a-z]", _text()):
        documented.add(re.sub(r"_(bucket|sum|count|created)$", "", name) if name not in code else name)
    assert not documented - code, f"documented, not in controller/metrics.py: {sorted(documented - code)}"
    table = (ROOT / "docs" / "monitoring.md").read_text()
    undocumented = sorted(m for m in code if f"| `{m}` |" not in table)
    assert not undocumented, f"not in docs/monitoring.md's metrics table: {undocumented}"


def test_the_kind_label_is_documented_with_every_kind() -> None:
    """Every metric labelled `kind` is labelled with a kind's name (controller/metrics.py's callers pass the
    adapter's kind); the sentence defining the label names each of them."""
    text = (ROOT / "docs" / "monitoring.md").read_text()
    (sentence,) = re.findall(r"^`kind` is ([^;]+);", text, re.M)
    named = set(re.findall(r"`(\w+)`", sentence))
    assert named == KIND_NAMES, f"docs/monitoring.md: `kind` is {sorted(named)}; the kinds are {sorted(KIND_NAMES)}"


def test_every_documented_setting_is_read_and_every_setting_is_documented() -> None:
    code = _settings_in_code()
    assert len(code) >= 8, "the derivation finds the settings"
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    documented = set(re.findall(r"\bAWSORG_[A-Z_]*[A-Z]\b", _text()))
    for name in documented:
        if name.startswith("AWSORG_TEST_"):
            assert name in tests, f"{name}: documented as a test switch, no test reads it"
        else:
            assert name in code, f"{name}: documented, but the operator reads no such setting"
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in code if f"`{name}`" not in readme)
    assert not missing, f"settings the operator reads but README.md's table does not list: {missing}"


def test_the_kinds_and_their_number() -> None:
    text = _text()
    for word in re.findall(r"\b(one|two|three|four|five|six|seven|eight|\d+) (?:CRDs|kinds)\b", text):
        number = NUMBERS.get(word) or int(word)
        assert number == len(KINDS), f"the docs say '{word} kinds/CRDs'; there are {len(KINDS)}"
    readme = (ROOT / "README.md").read_text()
    for kind in KIND_NAMES:
        assert f"`{kind}`" in readme, f"README.md does not name the kind {kind}"
    for kind in re.findall(r"^\s*kind: (\w+)", text, re.M):
        # OperatorPolicy: the administrator's policy file (controller/api/guardrails.py), not a CRD
        assert kind in KIND_NAMES or kind in {"Kustomization", "Application", "ConfigMap", "Component",
                                              "OperatorPolicy"}, kind


def test_every_file_the_docs_point_at_exists() -> None:
    missing = []
    for doc in DOCS:
        text = doc.read_text()
        links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        paths = [(doc.parent / link).resolve() for link in links if "://" not in link]
        top = "controller|deploy|docs|tests|examples|crds|benchmarks"
        prose = re.sub(r"\]\([^)]*\)", "]", text)  # link targets are relative to the doc: checked above
        mentioned = re.findall(rf"(?<![\w/.-])((?:{top})/[\w./*-]*[\w*/])", prose)
        files = r"[A-Z][A-Z_]+\.md|Makefile|Dockerfile|requirements[\w.-]*\.(?:txt|lock)"
        mentioned += re.findall(rf"(?<![\w/.-])({files})\b", prose)
        # a table of deploy/monitoring/'s files names them relative to it
        bases = [ROOT, ROOT / "deploy" / "monitoring"] if doc.name == "monitoring.md" else [ROOT]
        for name in mentioned:
            if re.search(rf"\b(logs|rollout \w+|get|describe|scale|edit) {re.escape(name)}", text):
                continue  # kubectl's deploy/NAME: a Deployment, not a path
            if not any(list(base.glob(name.rstrip("/"))) if "*" in name else (base / name).exists() for base in bases):
                missing.append(f"{doc.name}: {name}")
        missing += [f"{doc.name}: {p}" for p in paths if not p.exists()]
        if re.search(r"\bSPEC\b", text) and not (ROOT / "SPEC.md").exists():
            missing.append(f"{doc.name}: SPEC (there is no SPEC.md in the repository)")
    assert not missing, "the docs point at what the repository does not have:\n" + "\n".join(sorted(set(missing)))


def test_the_docs_say_where_events_go() -> None:
    """The events Role is where kopf posts the events of our cluster-scoped objects (deploy/rbac.yaml)."""
    (role,) = [o for o in render(ROOT / "deploy") if o["kind"] == "Role" and o["metadata"]["name"].endswith("events")]
    namespace = role["metadata"]["namespace"]
    guide = " ".join((ROOT / "docs" / "operating.md").read_text().split())
    claims = re.findall(r"`create` on `events` in `([\w-]+)`", guide)
    assert claims and set(claims) == {namespace}, f"docs/operating.md: events in {claims}, the Role is in {namespace}"
