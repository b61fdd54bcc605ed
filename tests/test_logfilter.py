"""Waiting is logged as INFO, failures stay ERROR (what an on-call person greps for)."""

from __future__ import annotations

import logging

import pytest

from controller.handlers.logfilter import WaitingIsNotAnError


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("Handler 'reconcile' failed temporarily: WaitingForReference: waiting for OrgUnit 'prod'", logging.INFO),
        ("Handler 'reconcile' failed temporarily: CreationInProgress: request car-1 is IN_PROGRESS", logging.INFO),
        ("Handler 'reconcile' failed temporarily: AwsError: AWS CreateOrganizationalUnit failed", logging.ERROR),
        ("Handler 'reconcile' failed temporarily: OrgUnitNotEmpty: OU 'x' still contains", logging.ERROR),
    ],
)
def test_waiting_is_info_failures_are_errors(message: str, level: int) -> None:
    record = logging.LogRecord("kopf.objects", logging.ERROR, __file__, 1, message, None, None)
    assert WaitingIsNotAnError().filter(record)
    assert record.levelno == level


def test_peering_pause_and_resume_are_tracked() -> None:
    from controller import metrics
    from controller.handlers.logfilter import PeeringState

    state = PeeringState()

    def log(message: str) -> None:
        state.filter(logging.LogRecord("kopf._core.engines.peering", logging.INFO, __file__, 1, message, None, None))

    log("Pausing operations in favour of [Peer(identity='x', priority=100)].")
    assert state.paused and metrics.REGISTRY.get_sample_value("awsorg_operator_active") == 0
    log("Keep-alive in 'awsorg-operator' cluster-wide: ok.")
    assert state.paused
    log("Resuming operations after the pause. Conflicting operators with the same priority are gone.")
    assert not state.paused and metrics.REGISTRY.get_sample_value("awsorg_operator_active") == 1
