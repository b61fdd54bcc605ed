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
