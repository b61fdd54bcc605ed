"""deploy/argocd/: the Applications, and the Lua health checks run against sample objects.

ArgoCD runs health checks in gopher-lua (Lua 5.1). The scripts run here on every Lua 5.1 runtime
available: Debian's ``lua5.1`` binary (installed by `make test`) and lupa's ``lua51`` module (lupa is
pinned in requirements-dev.txt), falling back to lupa's LuaJIT (5.1-compatible). The sample objects
are turned into Lua table constructors; ``obj`` is a global, as in ArgoCD.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "deploy" / "argocd"
KINDS = ("OrgUnit", "AwsAccount", "ServiceControlPolicy", "ManagementPolicy", "Organization")
GROUP = "awsorg.gitops.dev"


def to_lua(value: Any) -> str:
    """A Lua 5.1 expression for a JSON-like value (None: absent, as JSON null is for ArgoCD)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 32:
                out.append(f"\\{ord(ch):03d}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(value, list):
        return "{" + ", ".join(to_lua(v) for v in value if v is not None) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{to_lua(str(k))}] = {to_lua(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(type(value))


def _program(script: str, obj: dict[str, Any]) -> str:
    return f"obj = {to_lua(obj)}\nlocal hs = (function()\n{script}\nend)()\n"


def _binary(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    program = _program(script, obj) + 'io.write(hs.status, "\\0", hs.message or "")\n'
    result = subprocess.run(["lua5.1", "-"], input=program, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    status, message = result.stdout.split("\0")
    return status, message


def _lupa(module: str) -> Callable[[str, dict[str, Any]], tuple[str, str]]:
    runtime = importlib.import_module(module).LuaRuntime()

    def run(script: str, obj: dict[str, Any]) -> tuple[str, str]:
        status, message = runtime.execute(_program(script, obj) + "return hs.status, hs.message or ''\n")
        return str(status), str(message)

    return run


def _runtimes() -> list[Any]:
    found: list[Any] = []
    if shutil.which("lua5.1"):
        found.append(pytest.param(_binary, id="lua5.1"))
    for module in ("lupa.lua51", "lupa.luajit21", "lupa.luajit20"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        found.append(pytest.param(_lupa(module), id=module))
        break
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="neither lua5.1 nor lupa is installed"))]


def _scripts() -> dict[str, str]:
    cm = yaml.safe_load((ARGOCD / "argocd-cm-health.yaml").read_text())
    prefix = f"resource.customizations.health.{GROUP}_"
    return {k[len(prefix):]: v for k, v in cm["data"].items() if k.startswith(prefix)}


def test_one_health_check_per_kind() -> None:
    scripts = _scripts()
    assert set(scripts) == set(KINDS)
    assert len(set(scripts.values())) == 1, "the kinds share one script"
    crd_kinds = {yaml.safe_load(p.read_text())["spec"]["names"]["kind"] for p in (ROOT / "crds").glob("*.yaml")}
    assert crd_kinds == set(KINDS)


def _obj(conditions: list[dict[str, str]] | None, generation: int = 3, observed: int | None = 3) -> dict[str, Any]:
    status: dict[str, Any] | None = None
    if conditions is not None or observed is not None:
        status = {"observedGeneration": observed, "conditions": conditions}
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "OrgUnit",
            "metadata": {"name": "prod", "generation": generation}, "status": status}


def _c(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2025-01-01T00:00:00Z"}


CASES = {
    "no status": (_obj(None, observed=None), "Progressing", None),
    "status without conditions": (_obj(None), "Progressing", None),
    "empty conditions": (_obj([]), "Progressing", None),
    "ready": (_obj([_c("Ready", "True", "Available"), _c("Synced", "True", "ReconcileSuccess"),
                    _c("Drifted", "False", "InSync")]), "Healthy", ""),
    "ready while throttled": (_obj([_c("Ready", "True", "Available"),
                                    _c("Synced", "False", "AwsThrottled", "AWS ListRoots failed")]), "Healthy", ""),
    "new generation not reconciled yet": (_obj([_c("Ready", "True", "Available")], generation=4, observed=3),
                                          "Progressing", None),
    "waiting for a reference": (
        _obj([_c("Ready", "False", "WaitingForReference", "waiting for OrgUnit 'workloads' to be Ready"),
              _c("Synced", "False", "WaitingForReference", "waiting for OrgUnit 'workloads' to be Ready")]),
        "Progressing", "waiting for OrgUnit 'workloads' to be Ready"),
    "invalid spec": (
        _obj([_c("Ready", "False", "InvalidSpec", 'OrgUnit "prod" is invalid: spec.name: too long\nsecond line'),
              _c("Synced", "False", "InvalidSpec", 'OrgUnit "prod" is invalid: spec.name: too long\nsecond line')]),
        "Degraded", 'OrgUnit "prod" is invalid: spec.name: too long\nsecond line'),
    "aws error": (_obj([_c("Synced", "False", "AccessDenied", "AWS CreateOrganizationalUnit failed")]),
                  "Degraded", "AWS CreateOrganizationalUnit failed"),
    "drift reported": (
        _obj([_c("Ready", "False", "Drifted", "AWS differs from the spec in 1 field(s); see status.drift"),
              _c("Synced", "True", "ReconcileSuccess"), _c("Drifted", "True", "DriftDetected", "name")]),
        "Degraded", "AWS differs from the spec in 1 field(s); see status.drift"),
}


@pytest.mark.parametrize("run", _runtimes())
@pytest.mark.parametrize("case", list(CASES))
def test_health(run: Callable[[str, dict[str, Any]], tuple[str, str]], case: str) -> None:
    obj, want_status, want_message = CASES[case]
    status, message = run(_scripts()["OrgUnit"], obj)
    assert status == want_status
    if want_message is not None:
        assert message == want_message


def test_to_lua_round_trips_strings() -> None:
    assert to_lua({"a": ['x"\\\n', None, 1, True]}) == '{["a"] = {"x\\"\\\\\\010", 1, true}}'


def test_manifests() -> None:
    cm = yaml.safe_load((ARGOCD / "argocd-cm-health.yaml").read_text())
    kubernetes_validate.validate(cm, "1.30.0", strict=True)
    apps = {}
    for path in sorted(ARGOCD.glob("application-*.yaml")):
        app = yaml.safe_load(path.read_text())
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
        assert app["metadata"]["namespace"] == "argocd"
        assert (ROOT / app["spec"]["source"]["path"]).is_dir(), app["spec"]["source"]["path"]
        apps[app["spec"]["source"]["path"]] = app
    assert set(apps) == {"deploy", "examples"}
    operator_wave = int(apps["deploy"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    zone_wave = int((apps["examples"]["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", 0))
    assert operator_wave < zone_wave, "the operator (and its CRDs) sync before the landing zone"
    assert "ServerSideApply=true" in apps["deploy"]["spec"]["syncPolicy"]["syncOptions"]


def test_operating_guide_documents_the_annotations() -> None:
    guide = (ROOT / "docs" / "operating.md").read_text()
    for text in ("argocd.argoproj.io/sync-wave", "Prune=false", "Delete=false",
                 "resource.customizations.health"):
        assert text in guide, text


def test_the_operators_application_never_prunes_or_deletes_a_crd() -> None:
    """Deleting a CRD deletes every object of its kind (the API server's CRD finalizer), so neither removing a CRD
    from Git nor deleting the operator's Application (resources finalizer) may delete one: every CRD of the
    Application's path carries ArgoCD's Prune=false and Delete=false sync options."""
    from tests.deploy import kustomize

    app = yaml.safe_load((ARGOCD / "application-operator.yaml").read_text())
    assert "resources-finalizer.argocd.argoproj.io" in app["metadata"]["finalizers"]  # deletion cascades...
    crds = [o for o in kustomize.render(ROOT / app["spec"]["source"]["path"])
            if o["kind"] == "CustomResourceDefinition"]
    assert {c["metadata"]["name"] for c in crds} >= {f"{p}.{GROUP}" for p in (
        "orgunits", "awsaccounts", "servicecontrolpolicies", "managementpolicies", "organizations")}
    for crd in crds:  # ... except to these
        options = crd["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-options", "")
        assert {"Prune=false", "Delete=false"} <= {o.strip() for o in options.split(",")}, crd["metadata"]["name"]


def test_the_landing_zone_may_sync_only_our_kinds() -> None:
    """A pull request to the landing-zone repository cannot bring the administrator's policy (a ConfigMap in the
    operator's namespace) or anything else but the four kinds: its Application's project allows nothing more."""
    app = yaml.safe_load((ARGOCD / "application-landing-zone.yaml").read_text())
    project = yaml.safe_load((ARGOCD / "appproject-landing-zone.yaml").read_text())
    assert project["kind"] == "AppProject" and app["spec"]["project"] == project["metadata"]["name"]
    kinds = {yaml.safe_load(p.read_text())["spec"]["names"]["kind"] for p in (ROOT / "crds").glob("*.yaml")}
    assert {(r["group"], r["kind"]) for r in project["spec"]["clusterResourceWhitelist"]} == {
        ("awsorg.gitops.dev", k) for k in kinds}
    assert project["spec"]["namespaceResourceWhitelist"] == []
