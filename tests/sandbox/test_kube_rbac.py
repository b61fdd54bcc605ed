"""The sandbox Kubernetes API authenticates bearer tokens and authorizes every request as the RBAC authorizer
does (controller/sandbox/rbac.py cites the kubernetes sources), refusing with the API server's 403 wording."""

from __future__ import annotations

from typing import Any

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError
from controller.sandbox.rbac import RBAC_GROUP, Attributes, request_attributes
from tests.sandbox.conftest import GROUP, PLURAL, VERSION, widget

RBAC = f"{RBAC_GROUP}/v1"
SA = "system:serviceaccount:team:robot"
W = f"/apis/{GROUP}/{VERSION}/{PLURAL}"


def rule(verbs: list[str], resources: list[str], groups: tuple[str, ...] = (GROUP,), **extra: Any) -> dict[str, Any]:
    return {"apiGroups": list(groups), "resources": resources, "verbs": verbs, **extra}


def cluster_role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, Any]],
            namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta, "subjects": subjects,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role}}


ROBOT = [{"kind": "ServiceAccount", "name": "robot", "namespace": "team"}]


@pytest.fixture
def robot(kube_sandbox: KubeSandbox, kclient: KubeClient) -> KubeClient:
    """A service account bound to: list/watch widgets, patch the status of any widget, patch widget `alpha`,
    deletecollection; create events in `default` (a Role); and a ClusterRole bound in `default` only."""
    admin = KubeClient(kube_sandbox.url, group=RBAC_GROUP, version="v1")
    admin.create(cluster_role("widget-watcher", rule(["list", "watch"], [PLURAL]),
                              rule(["patch"], ["*/status"]),
                              rule(["patch", "get"], [PLURAL], resourceNames=["alpha"]),
                              rule(["deletecollection"], [PLURAL])), "clusterroles")
    admin.create(binding("ClusterRoleBinding", "widget-watcher", "ClusterRole", "widget-watcher", ROBOT),
                 "clusterrolebindings")
    admin.create({"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "events", "namespace": "default"},
                  "rules": [rule(["create"], ["events"], groups=("",))]}, "roles", namespace="default")
    admin.create(binding("RoleBinding", "events", "Role", "events", ROBOT, "default"), "rolebindings",
                 namespace="default")
    admin.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})  # the RoleBinding's namespace
    admin.create(cluster_role("event-reader", rule(["list"], ["events"], groups=("",))), "clusterroles")
    # A RoleBinding without the subject's namespace: "default the namespace to namespace we're working in".
    admin.create(binding("RoleBinding", "read", "ClusterRole", "event-reader",
                         [{"kind": "ServiceAccount", "name": "robot"}], "team"), "rolebindings", namespace="team")
    for name in ("alpha", "beta"):
        kclient.create(widget(name))
    token = kube_sandbox.service_account_token("team", "robot")
    return KubeClient(kube_sandbox.url, group=GROUP, version=VERSION, token=token)


def refused(call: Any) -> str:
    with pytest.raises(KubeError) as exc:
        call()
    assert exc.value.status == 403 and exc.value.reason == "Forbidden", exc.value
    return exc.value.message


def test_granted_verbs_pass_and_the_rest_is_refused_with_the_servers_wording(robot: KubeClient) -> None:
    assert {o["metadata"]["name"] for o in robot.list(PLURAL)} == {"alpha", "beta"}
    assert robot.request("GET", W, params={"watch": "true", "timeoutSeconds": "1", "labelSelector": "no=ne"}) is None
    assert robot.get(PLURAL, "alpha")["metadata"]["name"] == "alpha"
    assert refused(lambda: robot.get(PLURAL, "beta")) == (
        f'widgets.{GROUP} "beta" is forbidden: User "{SA}" cannot get resource "widgets" in API group '
        f'"{GROUP}" at the cluster scope')
    assert refused(lambda: robot.create(widget("gamma"))) == (
        f'widgets.{GROUP} is forbidden: User "{SA}" cannot create resource "widgets" in API group "{GROUP}" '
        "at the cluster scope")
    assert "cannot delete resource" in refused(lambda: robot.delete(PLURAL, "alpha"))


def test_a_subresource_is_its_own_resource_and_resource_names_limit_by_name(
        robot: KubeClient, kclient: KubeClient) -> None:
    merge = "application/merge-patch+json"
    robot.request("PATCH", f"{W}/beta/status", {"status": {"phase": "Created"}}, content_type=merge)  # */status
    robot.request("PATCH", f"{W}/alpha", {"metadata": {"labels": {"a": "b"}}}, content_type=merge)
    assert refused(lambda: robot.request("PATCH", f"{W}/beta", {"metadata": {"labels": {"a": "b"}}},
                                         content_type=merge)) == (
        f'widgets.{GROUP} "beta" is forbidden: User "{SA}" cannot patch resource "widgets" in API group '
        f'"{GROUP}" at the cluster scope')
    assert kclient.get(PLURAL, "beta")["status"]["phase"] == "Created"
    assert "labels" not in kclient.get(PLURAL, "beta")["metadata"]  # a refused request changes nothing


def test_a_grant_on_a_resource_does_not_reach_its_status(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    admin = KubeClient(kube_sandbox.url, group=RBAC_GROUP, version="v1")
    admin.create(cluster_role("widget-editor", rule(["patch", "update"], [PLURAL])), "clusterroles")
    editor = "system:serviceaccount:team:editor"  # bound as a User: RBAC matches the user name
    admin.create(binding("ClusterRoleBinding", "widget-editor", "ClusterRole", "widget-editor",
                         [{"kind": "User", "name": editor, "apiGroup": RBAC_GROUP}]), "clusterrolebindings")
    kclient.create(widget("alpha"))
    client = KubeClient(kube_sandbox.url, group=GROUP, version=VERSION,
                        token=kube_sandbox.service_account_token("team", "editor"))
    client.patch(PLURAL, "alpha", {"metadata": {"labels": {"a": "b"}}})
    assert refused(lambda: client.patch(PLURAL, "alpha", {"status": {"phase": "Created"}}, subresource="status")) == (
        f'widgets.{GROUP} "alpha" is forbidden: User "{editor}" cannot patch resource "widgets/status" in API group '
        f'"{GROUP}" at the cluster scope')


def test_roles_and_role_bindings_grant_only_in_their_namespace(robot: KubeClient) -> None:
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "e-"}, "reason": "Test",
             "involvedObject": {"kind": "Widget", "name": "alpha"}, "message": "m", "type": "Normal"}
    robot.request("POST", "/api/v1/namespaces/default/events", event)
    assert refused(lambda: robot.request("POST", "/api/v1/namespaces/kube-system/events", event)) == (
        f'events is forbidden: User "{SA}" cannot create resource "events" in API group "" in the namespace '
        '"kube-system"')
    robot.request("GET", "/api/v1/namespaces/team/events")  # the ClusterRole bound in `team` only
    assert "in the namespace \"default\"" in refused(lambda: robot.request("GET", "/api/v1/namespaces/default/events"))
    assert "at the cluster scope" in refused(lambda: robot.request("GET", "/api/v1/events"))


def test_discovery_is_every_authenticated_users_and_other_paths_are_refused(robot: KubeClient) -> None:
    for path in ("/api", "/api/v1", "/apis", f"/apis/{GROUP}", f"/apis/{GROUP}/{VERSION}", "/version",
                 "/openapi/v3"):
        robot.request("GET", path)  # system:discovery, bound to system:authenticated
    assert refused(lambda: robot.request("GET", "/metrics")) == (
        f'forbidden: User "{SA}" cannot get path "/metrics"')


def test_an_unknown_token_is_unauthorized_and_a_missing_role_is_named(kube_sandbox: KubeSandbox) -> None:
    stranger = KubeClient(kube_sandbox.url, group=GROUP, version=VERSION, token="nobody-issued-this")
    with pytest.raises(KubeError) as exc:
        stranger.list(PLURAL)
    assert exc.value.status == 401 and exc.value.message == "Unauthorized"
    admin = KubeClient(kube_sandbox.url, group=RBAC_GROUP, version="v1")
    admin.create(binding("ClusterRoleBinding", "dangling", "ClusterRole", "gone", ROBOT), "clusterrolebindings")
    robot = KubeClient(kube_sandbox.url, group=GROUP, version=VERSION,
                       token=kube_sandbox.service_account_token("team", "robot"))
    assert refused(lambda: robot.list(PLURAL)).endswith(
        f'at the cluster scope: RBAC: clusterrole.{RBAC_GROUP} "gone" not found')


def test_rbac_names_follow_path_segment_rules(kube_sandbox: KubeSandbox) -> None:
    admin = KubeClient(kube_sandbox.url, group=RBAC_GROUP, version="v1")
    admin.create(cluster_role("system:widget-reader"), "clusterroles")  # a colon is fine, unlike most names
    with pytest.raises(KubeError) as exc:
        admin.create(cluster_role("a/b"), "clusterroles")
    assert exc.value.status == 422 and "metadata.name: Invalid value: \"a/b\": may not contain '/'" in exc.value.message
    names = {o["metadata"]["name"] for o in admin.list("clusterroles")}
    assert {"cluster-admin", "system:discovery", "system:public-info-viewer", "system:widget-reader"} <= names


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/apis", {}, Attributes("get", "/apis")),
    ("GET", "/apis/g.dev/v1", {}, Attributes("get", "/apis/g.dev/v1")),
    ("GET", "/api/v1", {}, Attributes("get", "/api/v1")),
    ("GET", "/apis/g.dev/v1/things", {"watch": "1"},
     Attributes("watch", "/apis/g.dev/v1/things", True, "g.dev", "v1", "things")),
    ("GET", "/apis/g.dev/v1/things", {"fieldSelector": "metadata.name=x"},
     Attributes("list", "/apis/g.dev/v1/things", True, "g.dev", "v1", "things", name="x")),
    ("PATCH", "/apis/g.dev/v1/things/x/status", {},
     Attributes("patch", "/apis/g.dev/v1/things/x/status", True, "g.dev", "v1", "things", "status", name="x")),
    ("DELETE", "/api/v1/namespaces/ns/events", {},
     Attributes("deletecollection", "/api/v1/namespaces/ns/events", True, "", "v1", "events", namespace="ns")),
    ("PUT", "/api/v1/namespaces/ns/finalize", {},
     Attributes("update", "/api/v1/namespaces/ns/finalize", True, "", "v1", "namespaces", "finalize",
                namespace="ns", name="ns")),
])
def test_request_attributes_as_the_api_server_derives_them(method: str, path: str, query: dict[str, str],
                                                            expected: Attributes) -> None:
    assert request_attributes(method, path, query) == expected
