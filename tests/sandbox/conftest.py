"""Fixtures for the sandbox Kubernetes API tests: a test CRD and a fresh API server per test."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient

GROUP = "sandbox.test.dev"
VERSION = "v1"
PLURAL = "widgets"

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Cluster",
        "names": {"kind": "Widget", "plural": PLURAL, "singular": "widget", "listKind": "WidgetList",
                  "shortNames": ["wg"], "categories": ["testcat"]},
        "versions": [{
            "name": VERSION,
            "served": True,
            "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Ref", "type": "string", "jsonPath": ".spec.parentRef.name"},
                {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": {
                        "type": "object",
                        "required": ["name"],
                        "x-kubernetes-validations": [
                            {"rule": "!(has(self.parentRef) && has(self.parentId))",
                             "message": "parentRef and parentId are mutually exclusive"},
                        ],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 16,
                                     "pattern": "^[A-Za-z][A-Za-z0-9 -]*$"},
                            "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
                            "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Fast"},
                            "email": {"type": "string", "format": "email",
                                      "x-kubernetes-validations": [
                                          {"rule": "self == oldSelf", "message": "email is immutable"}]},
                            "parentRef": {"type": "object", "required": ["name"],
                                          "properties": {"name": {"type": "string", "maxLength": 8}}},
                            "parentId": {"type": "string", "pattern": "^(r|ou)-"},
                            "ids": {"type": "array", "maxItems": 3,
                                    "items": {"type": "string", "pattern": "^[0-9]{12}$"}},
                            "tags": {"type": "object", "maxProperties": 2,
                                     "additionalProperties": {"type": "string"}},
                            "options": {"type": "object", "default": {},
                                        "properties": {"retries": {"type": "integer", "default": 2}}},
                            "document": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    },
                    "status": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {
                            "phase": {"type": "string", "enum": ["Created", "Updated"]},
                            "observedGeneration": {"type": "integer"},
                            "conditions": {"type": "array", "items": {
                                "type": "object", "required": ["type", "status"],
                                "properties": {"type": {"type": "string"}, "status": {"type": "string"},
                                               "reason": {"type": "string"}}}},
                        },
                    },
                },
            }},
        }],
    },
}


def widget(name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name},
            "spec": {"name": name.capitalize(), **spec}}


@pytest.fixture
def widget_crd() -> dict[str, Any]:
    return copy.deepcopy(WIDGET_CRD)


@pytest.fixture
def kube_sandbox(widget_crd: dict[str, Any]) -> Iterator[KubeSandbox]:
    sandbox = KubeSandbox([widget_crd]).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def kclient(kube_sandbox: KubeSandbox) -> KubeClient:
    return KubeClient(kube_sandbox.url, group=GROUP, version=VERSION)


@pytest.fixture
def org(aws: Any) -> Any:
    """A boto3 Organizations client of the AWS sandbox (``aws``: tests/conftest.py), without botocore's retries."""
    return aws.client(max_attempts=1)
