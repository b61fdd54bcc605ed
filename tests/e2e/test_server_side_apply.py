"""Objects applied server-side (as `kubectl apply --server-side` and ArgoCD's ServerSideApply=true do), with the
real operator: it reconciles them, its status writes are its own in managedFields, and a later apply of the
spec neither drops the status nor takes the operator's fields (sandbox rules: controller/sandbox/ssa.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, orgunit, wait_for
from tests.e2e.test_orgunit import tags_of

pytestmark = pytest.mark.e2e


def apply(cluster: Cluster, obj: dict[str, Any], manager: str = "gitops") -> dict[str, Any]:
    result: dict[str, Any] = cluster.client.request(
        "PATCH", cluster.client.path("orgunits", obj["metadata"]["name"]), obj,
        content_type="application/apply-patch+yaml", params={"fieldManager": manager})
    return result


def managers(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
            for e in obj["metadata"]["managedFields"]}


def test_a_later_apply_of_the_spec_keeps_the_operators_status(aws: AwsSandbox, cluster: Cluster,
                                                              operator: Operator) -> None:
    apply(cluster, orgunit("production", name="Production", tags={"env": "prod"}))
    ready = cluster.wait_ready("orgunits", "production")
    ou_id = ready["status"]["id"]
    status_owners = {key: fields for key, fields in managers(ready).items() if key[2] == "status"}
    assert status_owners and all(key[1] == "Update" and key[0] != "gitops" for key in status_owners)
    assert all(set(fields) == {"f:status"} for fields in status_owners.values())

    # Git changes a tag; the manifest even carries a stale status, which an apply of the main resource ignores.
    changed = orgunit("production", name="Production", tags={"env": "production"})
    changed["status"] = {"id": "ou-stale"}
    applied = apply(cluster, changed)
    assert applied["status"]["id"] == ou_id
    assert applied["status"]["conditions"] == ready["status"]["conditions"]
    assert {k: f for k, f in managers(applied).items() if k in status_owners} == status_owners  # untouched

    wait_for(lambda: tags_of(aws, ou_id) == {"env": "production"}, what="the new tag in AWS")
    final = wait_for(lambda: (o if (o := cluster.get("orgunits", "production")) and o["status"].get(
        "observedGeneration") == o["metadata"]["generation"] else None), what="the change observed")
    assert final["status"]["id"] == ou_id
    owners = managers(final)
    assert owners[("gitops", "Apply", "")] == {"f:spec": {"f:name": {}, "f:tags": {"f:env": {}}}}
    for key in status_owners:  # the operator still owns the status it writes
        assert set(owners[key]) == {"f:status"}
