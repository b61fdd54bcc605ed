"""The resync: a failed observation of the organization is counted in awsorg_resync_failures_total, and the loop
goes on."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import pytest

from controller import metrics
from controller.aws.gateway import OrganizationsGateway
from controller.reconciler.inventory import Inventory
from controller.reconciler.resync import Resync, observe_once
from controller.settings import Settings
from controller.state import OrgSnapshot


class FakeGateway:
    """Answers snapshot() with ``snapshot``, or raises ``error``; counts the calls."""

    def __init__(self, snapshot: OrgSnapshot | None = None, error: Exception | None = None) -> None:
        self._snapshot = snapshot
        self.error = error
        self.calls: list[float | None] = []
        self.called = threading.Event()

    def snapshot(self, max_age: float | None = None) -> OrgSnapshot:
        self.calls.append(max_age)
        self.called.set()
        if self.error is not None:
            raise self.error
        assert self._snapshot is not None
        return self._snapshot


def _gateway(fake: FakeGateway) -> OrganizationsGateway:
    return cast(OrganizationsGateway, fake)


def _failures() -> float:
    return metrics.REGISTRY.get_sample_value("awsorg_resync_failures_total") or 0.0


def _unmanaged(kind: str) -> float | None:
    return metrics.REGISTRY.get_sample_value("awsorg_unmanaged_resources", {"kind": kind})


def _org() -> OrgSnapshot:
    return OrgSnapshot(organization_id="o-test", management_account_id="111111111111", root_id="r-test",
                       root_arn="arn:aws:organizations::111111111111:root/o-test/r-test")


def test_observe_once_counts_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeGateway(error=RuntimeError("AccessDenied"))
    before = _failures()
    assert observe_once(_gateway(fake), Inventory()) is False
    assert _failures() == before + 1
    assert fake.calls == [0]  # always a fresh read, never the cached snapshot
    assert "observing the organization failed: AccessDenied" in caplog.text


def test_observe_once_success_is_not_a_failure() -> None:
    fake = FakeGateway(snapshot=_org())
    before = _failures()
    assert observe_once(_gateway(fake), Inventory()) is True
    assert _failures() == before
    assert _unmanaged("OrgUnit") == 0


def test_observe_forever_counts_a_failed_resync_and_keeps_going() -> None:
    fake = FakeGateway(error=RuntimeError("throttled"))
    before = _failures()

    async def drive() -> None:
        task = asyncio.get_running_loop().create_task(
            Resync(Settings(resync_seconds=1.0), _gateway(fake), Inventory(), {}, lambda kind: {}).run_forever()
        )
        try:
            # the first observation comes after min(resync, 5 s) = 1 s
            assert await asyncio.get_running_loop().run_in_executor(None, fake.called.wait, 10.0)
            for _ in range(100):  # the counter is incremented right after snapshot() raised
                if _failures() > before:
                    break
                await asyncio.sleep(0.01)
            assert not task.done(), "a failed observation must not end the observer"
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(drive())
    assert _failures() == before + 1
    assert len(fake.calls) == 1


def test_resync_metrics_are_exported() -> None:
    families: dict[str, Any] = {f.name: f for f in metrics.REGISTRY.collect()}
    assert families["awsorg_resync_interval_seconds"].type == "gauge"
    assert families["awsorg_resync_failures"].type == "counter"
