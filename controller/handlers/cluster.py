"""kopf's login to the Kubernetes API, handed to the HTTP client of :mod:`controller.kube.api`."""

from __future__ import annotations

import kopf

from controller.kube import api as kube
from controller.kube.api import ClusterUnreachable, KubeApi


def login() -> kopf.ConnectionInfo:
    """In a cluster: the pod's service account; elsewhere: the kubeconfig (KUBECONFIG honoured)."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise ClusterUnreachable("no in-cluster service account and no kubeconfig (KUBECONFIG, ~/.kube/config)")
    return info


def kube_api() -> KubeApi:
    """A session to the API server with kopf's login (read again for every session)."""
    return KubeApi(login)


def crd_deleting(plural: str) -> bool:
    """:func:`controller.kube.api.crd_deleting` with kopf's login."""
    return kube.crd_deleting(plural, login)
