"""A small Kustomize renderer for the subset deploy/ uses, for machines without kubectl.

Supported kustomization fields (anything else raises, so the fallback can never silently diverge):

- ``resources``: YAML files (several documents each, inside the kustomization's root, as kustomize's default
  load restrictor demands) and directories holding a kustomization.yaml (anywhere, as in kustomize);
- ``components``: directories holding a ``kind: Component`` kustomization.yaml with ``resources`` only; their
  objects join this kustomization's before its own fields below apply to all of them, as in kustomize;
- ``namespace``: set on every object whose kind is not a built-in cluster-scoped kind (like kustomize,
  which also does not know that custom kinds such as ClusterKopfPeering are cluster-scoped);
- ``labels``: ``pairs`` added to ``metadata.labels`` (``includeSelectors``/``includeTemplates`` must be
  false); ``commonLabels`` is not supported;
- ``images``: ``name`` -> ``newName``/``newTag``/``digest`` (``name:tag@digest``, as kustomize writes it) on the
  containers of pod templates;
- ``transformers``: inline ``builtin`` ``PatchTransformer`` documents with a JSON6902 patch
  (ops ``add``/``replace``/``remove``), applied after the fields above, as kustomize does.

Output order is not kustomize's; compare objects by (apiVersion, kind, namespace, name).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "components", "namespace", "labels", "images", "transformers"}
COMPONENT_SUPPORTED = {"apiVersion", "kind", "resources"}

# Built-in cluster-scoped kinds kustomize knows of (those that can appear in deploy/).
CLUSTER_SCOPED = {
    "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "APIService", "Node",
}

Obj = dict[str, Any]


def key(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def render(directory: Path) -> list[Obj]:
    """The objects ``kubectl kustomize DIRECTORY`` would print."""
    kfile = directory / "kustomization.yaml"
    kust = yaml.safe_load(kfile.read_text()) or {}
    unsupported = set(kust) - SUPPORTED
    if unsupported:
        raise NotImplementedError(f"{kfile}: the Python renderer does not support {sorted(unsupported)}")
    if kust.get("kind", "Kustomization") != "Kustomization":
        raise ValueError(f"{kfile}: a {kust.get('kind')} is not a Kustomization (a Component goes in components:)")
    objects = _resources(directory, kust)
    for entry in kust.get("components", []):
        component = (directory / entry).resolve()
        ckust = yaml.safe_load((component / "kustomization.yaml").read_text()) or {}
        if ckust.get("kind") != "Component" or set(ckust) - COMPONENT_SUPPORTED:
            raise NotImplementedError(f"{component}: a Component with only {sorted(COMPONENT_SUPPORTED)}")
        objects.extend(_resources(component, ckust))
    namespace = kust.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {})["namespace"] = namespace
        for label in kust.get("labels", []):
            if label.get("includeSelectors") or label.get("includeTemplates"):
                raise NotImplementedError("labels with includeSelectors/includeTemplates")
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
        for image in kust.get("images", []):
            _set_image(obj, image)
    for text in kust.get("transformers", []):
        _transform(objects, yaml.safe_load(text))
    return objects


def _resources(directory: Path, kust: Obj) -> list[Obj]:
    objects: list[Obj] = []
    for entry in kust.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        elif not path.is_relative_to(directory.resolve()):
            raise ValueError(f"{directory}: {entry} is outside the kustomization root (kustomize refuses it)")
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return objects


def _set_image(obj: Obj, image: dict[str, str]) -> None:
    pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        ref = container.get("image", "")
        name = ref.split("@")[0].rsplit(":", 1)[0] if ":" in ref.split("/")[-1] else ref.split("@")[0]
        if name != image["name"]:
            continue
        tag = image.get("newTag") or (ref[len(name) + 1:] if ref != name else "")
        new = image.get("newName", name)
        container["image"] = (f"{new}:{tag}" if tag else new) + (f"@{image['digest']}" if image.get("digest") else "")


def _transform(objects: list[Obj], config: Obj) -> None:
    if config.get("apiVersion") != "builtin" or config.get("kind") != "PatchTransformer":
        raise NotImplementedError(f"transformer {config.get('kind')}")
    target = config.get("target", {})
    ops = json.loads(config["patch"]) if isinstance(config["patch"], str) else config["patch"]
    for obj in objects:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        if target.get("kind", obj["kind"]) != obj["kind"] or target.get("group", group) != group:
            continue
        if "name" in target and target["name"] != obj["metadata"]["name"]:
            continue
        for op in ops:
            _json_patch(obj, op)


def _json_patch(obj: Obj, op: Obj) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
    parent: Any = obj
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if op["op"] == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    elif op["op"] in ("add", "replace"):
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            else:
                parent[index] = copy.deepcopy(op["value"])
        else:
            parent[last] = copy.deepcopy(op["value"])
    else:
        raise NotImplementedError(f"JSON patch op {op['op']}")
