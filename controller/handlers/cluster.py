"""Read the objects of this API from a cluster, with the operator's own login (kopf's): for ``awsorg plan``.

The objects' status says what each is bound to in AWS, as the operator recorded it; the objects in the
cluster that are no longer in the files are the ones a merge deletes (ArgoCD prunes them).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tempfile
from collections.abc import Iterable
from typing import Any

import aiohttp
import kopf

from controller.api.models import GROUP, VERSION


class ClusterUnreachable(Exception):
    pass


def _pem(tmp: str, name: str, path: Any, data: str | bytes | None) -> str | None:
    """A PEM file for ssl: the kubeconfig's path, or its inline (base64 or PEM) data written to ``tmp``."""
    if path:
        return str(path)
    if not data:
        return None
    raw = data if isinstance(data, bytes) else data.encode()
    out = f"{tmp}/{name}"
    with open(out, "wb") as file:
        file.write(raw if b"BEGIN" in raw else base64.b64decode(raw))
    return out


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        context = ssl.create_default_context(cafile=_pem(tmp, "ca.pem", info.ca_path, info.ca_data))
        cert = _pem(tmp, "cert.pem", info.certificate_path, info.certificate_data)
        if cert:
            context.load_cert_chain(cert, _pem(tmp, "key.pem", info.private_key_path, info.private_key_data))
    return context


async def _read(plurals: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise ClusterUnreachable("no in-cluster service account and no kubeconfig (KUBECONFIG, ~/.kube/config)")
    headers = {}
    if info.token:
        headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
    auth = aiohttp.BasicAuth(info.username, info.password or "") if info.username else None
    found: dict[str, list[dict[str, Any]]] = {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, auth=auth, timeout=timeout) as session:
        for plural in plurals:
            url = f"{info.server.rstrip('/')}/apis/{GROUP}/{VERSION}/{plural}"
            async with session.get(url, ssl=_ssl_context(info)) as response:
                if response.status != 200:
                    raise ClusterUnreachable(f"GET {url}: {response.status} {await response.text()}")
                found[plural] = list((await response.json()).get("items") or [])
    return found


def read_objects(plurals: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """plural -> the objects in the cluster (spec, status, metadata). Raises ClusterUnreachable."""
    try:
        return asyncio.run(_read(list(plurals)))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ClusterUnreachable(str(exc)) from exc
