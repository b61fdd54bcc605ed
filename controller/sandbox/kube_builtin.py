"""Built-in Kubernetes kinds the sandbox API serves without a schema, so that the Kustomize base (deploy/)
can be applied to it as to a real cluster (``kubectl apply --server-side -k deploy/``) and read back.

They are stored as sent (no defaulting, no validation beyond object metadata, lists atomic for
server-side apply): the sandbox does not run their controllers (no pods for a Deployment, no cluster IP for
a Service). Discovery names, short names and categories are the API server's
(``kubectl api-resources`` on a v1.31 cluster).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BUILTIN_KINDS", "BuiltinKind"]


class BuiltinKind(NamedTuple):
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()


# The RBAC kinds are served (and enforced) by rbac.py.
BUILTIN_KINDS: tuple[BuiltinKind, ...] = (
    BuiltinKind("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    BuiltinKind("", "v1", "services", "Service", True, ("svc",), ("all",), ("status",)),
    BuiltinKind("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    BuiltinKind("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("all",), ("status",)),
    BuiltinKind("coordination.k8s.io", "v1", "leases", "Lease", True),
    BuiltinKind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
)
