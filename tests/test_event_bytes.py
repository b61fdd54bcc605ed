"""The operator's events fit Kubernetes' message limit, which counts bytes (NoteLengthLimit = 1024, Go's len()):
a long message in a script of multi-byte letters is cut to 1,024 bytes at a character boundary, and the API server
(the sandbox, which counts as Kubernetes does) takes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.api import crds as crdgen
from controller.handlers.cluster import kube_api
from controller.kube.api import EVENT_MESSAGE_BYTES, cut_bytes
from controller.sandbox.kube import KubeSandbox


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 1024, "a" * 1024),
    ("a" * 1025, "a" * 1024),
    ("é" * 600, "é" * 512),  # two bytes each
    ("a" + "€" * 400, "a" + "€" * 341),  # three bytes each: 1 + 1,023
    ("", ""),
])
def test_cut_by_bytes_never_inside_a_character(text: str, expected: str) -> None:
    cut = cut_bytes(text, EVENT_MESSAGE_BYTES)
    assert cut == expected and len(cut.encode()) <= EVENT_MESSAGE_BYTES


def test_a_long_multibyte_message_is_posted_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kube = KubeSandbox(crdgen.all_crds()).start()
    try:
        monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kubeconfig")))
        involved = {"apiVersion": "awsorg.io/v1alpha1", "kind": "OrgUnit", "metadata": {"name": "ou", "uid": "u-1"}}

        async def post() -> None:
            async with kube_api() as api:
                await api.post_event(involved, "Warning", "AwsError", "Überprüfung fehlgeschlagen: " + "ü" * 1000)

        asyncio.run(post())
        [event] = kube.events()
        assert event["message"].startswith("Überprüfung") and len(event["message"].encode()) <= 1024
    finally:
        kube.stop()
