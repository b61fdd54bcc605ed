"""deploy/: render the Kustomize base (kubectl when present, else tests/deploy/kustomize.py, and both
must agree), validate every object, and check what the operator needs from it: least-privilege RBAC,
the restricted security context, peering, probes, settings, metrics.

Validation: built-in kinds with kubernetes-validate (Kubernetes 1.30, strict: unknown fields fail).
Custom kinds have no schema there: ClusterKopfPeering is validated against the openAPIV3Schema of
its CRD in the same render (jsonschema); ServiceMonitor and PrometheusRule (Prometheus Operator CRDs,
not available offline) are checked structurally (apiVersion, kind, name, a spec object) plus the
fields this base relies on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.kustomize import key, render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"
NAMESPACE = "awsorg-system"
GROUP = "awsorg.gitops.dev"
PLURALS = ("orgunits", "awsaccounts", "servicecontrolpolicies", "managementpolicies", "organizations")

Obj = dict[str, Any]


# The base with the optional monitoring component (docs/examples/overlay-monitoring/).
MONITORED = ROOT / "docs" / "examples" / "overlay-monitoring"
PROMETHEUS_OPERATOR_GROUP = "monitoring.coreos.com"


def _render(directory: Path) -> list[Obj]:
    rendered = render(directory)
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        by_kubectl = {key(o): o for o in yaml.safe_load_all(out.stdout) if o}
        by_python = {key(o): o for o in rendered}
        assert set(by_python) == set(by_kubectl), "the Python renderer and kubectl disagree on the objects"
        for k, obj in by_kubectl.items():
            assert by_python[k] == obj, f"the Python renderer and kubectl disagree on {k}"
    return rendered


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return _render(DEPLOY)


@pytest.fixture(scope="module")
def monitored() -> list[Obj]:
    return _render(MONITORED)


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def deployment(objects: list[Obj]) -> Obj:
    return one(objects, "Deployment", "awsorg-operator")


def container(objects: list[Obj]) -> Obj:
    (c,) = deployment(objects)["spec"]["template"]["spec"]["containers"]
    return c


# ------------------------------------------------------------------------------------------ CRD copies


def test_crd_copies_match_crds_dir() -> None:
    source = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    copies = {p.name: p.read_text() for p in (DEPLOY / "crds").glob("*.yaml")}
    assert set(copies) == set(source), "deploy/crds/ must hold exactly crds/*.yaml: cp crds/*.yaml deploy/crds/"
    for name, text in source.items():
        assert copies[name] == text, f"deploy/crds/{name} is stale: cp crds/*.yaml deploy/crds/"
    listed = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    assert sorted(r for r in listed if r.startswith("crds/")) == sorted(f"crds/{n}" for n in source)


# ------------------------------------------------------------------------------------------ validation


def test_every_object_is_valid(objects: list[Obj], monitored: list[Obj]) -> None:
    _validate(objects)
    _validate(monitored)
    assert {o["kind"] for o in monitored if o["apiVersion"].startswith(PROMETHEUS_OPERATOR_GROUP)} == {
        "ServiceMonitor", "PrometheusRule"}


def _validate(objects: list[Obj]) -> None:
    crds = {(o["spec"]["group"], o["spec"]["names"]["kind"]): o for o in objects
            if o["kind"] == "CustomResourceDefinition"}
    custom = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            custom.append(obj)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{key(obj)}: {exc}")
    for obj in custom:
        group = obj["apiVersion"].split("/")[0]
        assert obj["metadata"]["name"], key(obj)
        crd = crds.get((group, obj["kind"]))
        if crd is not None:
            (version,) = [v for v in crd["spec"]["versions"] if v["name"] == obj["apiVersion"].split("/")[1]]
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            jsonschema.validate(body, version["schema"]["openAPIV3Schema"])
            if crd["spec"]["scope"] == "Cluster":
                assert "namespace" not in obj["metadata"], f"{key(obj)} is cluster-scoped"
        else:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1", f"no schema for {key(obj)}"
            assert obj["kind"] in ("ServiceMonitor", "PrometheusRule"), key(obj)
            assert isinstance(obj.get("spec"), dict), key(obj)
    assert {o["kind"] for o in custom} >= {"ClusterKopfPeering"}


def test_the_base_syncs_without_the_prometheus_operator(objects: list[Obj], monitored: list[Obj]) -> None:
    """No object of the base needs a CRD the base does not bring (ServiceMonitor and PrometheusRule are the
    optional component's), and the component adds nothing but those two, leaving the base's objects as they are."""
    brought = {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objects
               if o["kind"] == "CustomResourceDefinition"}
    for obj in objects:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        if group and "." in group and not group.endswith(".k8s.io"):
            assert (group, obj["kind"]) in brought, f"{key(obj)} needs a CRD the base does not install"
    base = {key(o): o for o in objects}
    added = [o for o in monitored if key(o) not in base]
    assert sorted(o["kind"] for o in added) == ["PrometheusRule", "ServiceMonitor"]
    assert all(o["metadata"]["namespace"] == NAMESPACE for o in added)
    assert {key(o): o for o in monitored if key(o) in base} == base


def test_the_validator_rejects_a_typo(objects: list[Obj]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(deployment(objects)))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_namespaced_objects_are_in_the_operator_namespace(objects: list[Obj], monitored: list[Obj]) -> None:
    one(objects, "Namespace", NAMESPACE)
    for obj in monitored:
        if obj["kind"] in ("ServiceAccount", "Deployment", "Service", "ServiceMonitor", "PrometheusRule"):
            assert obj["metadata"].get("namespace") == NAMESPACE, key(obj)
    # but the events Role and its binding: in `default`, where the events of cluster-scoped objects belong.
    for obj in objects:
        if obj["kind"] in ("Role", "RoleBinding"):
            assert (obj["metadata"]["name"], obj["metadata"].get("namespace")) == ("awsorg-operator-events",
                                                                                "default"), key(obj)


# ------------------------------------------------------------------------------------------ security


def test_pod_runs_restricted(objects: list[Obj]) -> None:
    pod = deployment(objects)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(objects)["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc.get("privileged", False) is False
    # The image's numeric USER is the pod's runAsUser (so runAsNonRoot can be verified by the kubelet).
    user = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.M)[-1]
    assert str(pod["securityContext"]["runAsUser"]) == user
    # /tmp is writable (HOME=/tmp in the image), everything else is read-only.
    mounts = {m["mountPath"]: m["name"] for m in container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert {e["name"]: e["value"] for e in container(objects)["env"]}["HOME"] == "/tmp"
    assert pod["serviceAccountName"] == "awsorg-operator"
    assert one(objects, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_resources_requests_and_limits(objects: list[Obj]) -> None:
    resources = container(objects)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) >= {"memory"}


def test_image_is_set_by_kustomize(objects: list[Obj]) -> None:
    images = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["images"]
    (image,) = [i for i in images if i["name"] == "awsorg-operator"]
    digest = f"@{image['digest']}" if image.get("digest") else ""  # written by the release workflow
    assert container(objects)["image"] == f"{image['newName']}:{image['newTag']}{digest}"


# ---------------------------------------------------------------------------------------------- RBAC


def _rules(role: Obj) -> set[tuple[str, str, str, tuple[str, ...]]]:
    out = set()
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb, tuple(rule.get("resourceNames", ()))))
    return out


def test_cluster_role_grants_exactly_what_the_operator_uses(objects: list[Obj]) -> None:
    expected = set()
    for plural in PLURALS:
        expected |= {(GROUP, plural, verb, ()) for verb in ("list", "watch", "patch")}
        expected.add((GROUP, f"{plural}/status", "patch", ()))
    peering = _args(objects)["--peering"]
    expected |= {
        ("kopf.dev", "clusterkopfpeerings", "list", ()),
        ("kopf.dev", "clusterkopfpeerings", "watch", ()),
        ("kopf.dev", "clusterkopfpeerings", "patch", (peering,)),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list", ()),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch", ()),
    }
    assert _rules(one(objects, "ClusterRole", "awsorg-operator")) == expected
    assert _rules(one(objects, "Role", "awsorg-operator-events")) == {("", "events", "create", ())}


def test_no_wildcards_and_every_binding_names_the_service_account(objects: list[Obj]) -> None:
    for role in (o for o in objects if o["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], key(role)
    for binding in (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "awsorg-operator", "namespace": NAMESPACE}]
        one(objects, binding["roleRef"]["kind"], binding["roleRef"]["name"])


def test_our_crds_are_the_ones_rbac_names(objects: list[Obj]) -> None:
    ours = {o["spec"]["names"]["plural"] for o in objects
            if o["kind"] == "CustomResourceDefinition" and o["spec"]["group"] == GROUP}
    assert ours == set(PLURALS)


def test_service_account_is_annotated_for_irsa(objects: list[Obj]) -> None:
    sa = one(objects, "ServiceAccount", "awsorg-operator")
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"])


# ------------------------------------------------------------------------------- running the operator


def _args(objects: list[Obj]) -> dict[str, str]:
    args = container(objects)["args"]
    assert len(args) % 2 == 0, args
    return dict(zip(args[::2], args[1::2], strict=True))


def test_operator_command_peering_and_probes(objects: list[Obj]) -> None:
    assert "command" not in container(objects), "the image's entrypoint is `awsorg run`"
    args = _args(objects)
    assert args == {"--peering": "awsorg-operator", "--liveness": "http://0.0.0.0:8080/healthz"}
    peering = one(objects, "ClusterKopfPeering", args["--peering"])
    assert "namespace" not in peering["metadata"]
    crd = one(objects, "CustomResourceDefinition", "clusterkopfpeerings.kopf.dev")
    assert crd["spec"]["scope"] == "Cluster"
    ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert ports == {"metrics": 8000, "healthz": 8080}
    for probe in ("livenessProbe", "readinessProbe"):
        http = container(objects)[probe]["httpGet"]
        assert http["path"] == "/healthz"
        assert ports[http["port"]] == 8080


def test_two_replicas_one_active_through_peering(objects: list[Obj]) -> None:
    """Hot standby: two replicas in one peering; `awsorg run --peering` gives each a random priority so
    the highest works and the other waits (kopf pauses all peers of equal priority), see operating.md."""
    spec = deployment(objects)["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    args = container(objects)["args"]
    assert args[args.index("--peering") + 1] == "awsorg-operator"
    assert "--priority" not in args  # a fixed priority would make the replicas tie


def test_env_carries_every_setting_the_operator_reads(objects: list[Obj]) -> None:
    read = set(re.findall(r"\"(AWSORG_[A-Z_]+)\"", (ROOT / "controller" / "settings.py").read_text()))
    env = {e["name"]: e.get("value") for e in container(objects)["env"]}
    assert {k for k in env if k.startswith("AWSORG_")} == read
    assert env["AWSORG_METRICS_PORT"] == "8000"
    assert env["AWSORG_DRIFT_POLICY"] in ("correct", "report")


def test_metrics_service_and_service_monitor(monitored: list[Obj]) -> None:
    objects = monitored
    service = one(objects, "Service", "awsorg-operator-metrics")
    (port,) = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("metrics", 8000, "metrics")
    pod_labels = deployment(objects)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    monitor = one(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_the_monitoring_component_holds_the_alert_rules(monitored: list[Obj]) -> None:
    one(monitored, "PrometheusRule")
    component = yaml.safe_load((DEPLOY / "monitoring" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"


# ---------------------------------------------------------------------------------------- network


def _peers(rule: Obj, side: str) -> list[Obj]:
    return rule.get(side, [])


def test_network_policy_metrics_from_monitoring_only_out_to_dns_and_443(objects: list[Obj]) -> None:
    policy = one(objects, "NetworkPolicy", "awsorg-operator")
    spec = policy["spec"]
    pod_labels = deployment(objects)["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items(), "it selects the operator's pods"
    # Every service's pods but ours are untouched: the selector is not empty.
    assert spec["podSelector"]["matchLabels"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = spec["ingress"]
    assert _peers(ingress, "from") == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert [(p["port"], p["protocol"]) for p in ingress["ports"]] == [("metrics", "TCP")]
    assert ports["metrics"] == int(_args_env(objects)["AWSORG_METRICS_PORT"])
    dns, https = spec["egress"]
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [(53, "TCP"), (53, "UDP")]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert https == {"ports": [{"port": 443, "protocol": "TCP"}]}, "443 anywhere: the API server and AWS"


def _args_env(objects: list[Obj]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(objects)["env"]}
