"""Waiting is logged as INFO, failures stay ERROR (what an on-call person greps for)."""

from __future__ import annotations

import logging

import pytest

from controller.handlers.logfilter import Waiting, WaitingIsNotAnError


def _kopf_record(uid: str, message: str) -> logging.LogRecord:
    record = logging.LogRecord("kopf.objects", logging.ERROR, __file__, 1, message, None, None)
    record.k8s_ref = {"kind": "OrgUnit", "name": "team-a", "uid": uid}
    return record


@pytest.mark.parametrize("waiting", [True, False])
def test_a_wait_is_info_a_failure_stays_an_error_whatever_the_message_says(waiting: bool) -> None:
    """The handler marks a wait by the engine's typed outcome; the text of the message plays no part."""
    marks = Waiting()
    if waiting:
        marks.mark("uid-1")
    record = _kopf_record("uid-1", "Handler 'reconcile' failed temporarily: AwsError: looks like a failure")
    assert WaitingIsNotAnError(marks).filter(record)
    assert record.levelno == (logging.INFO if waiting else logging.ERROR)


def test_a_mark_lowers_one_record_of_that_object_only() -> None:
    marks = Waiting()
    marks.mark("uid-1")
    other = _kopf_record("uid-2", "Handler 'reconcile' failed temporarily: WaitingForReference: waiting")
    WaitingIsNotAnError(marks).filter(other)
    assert other.levelno == logging.ERROR  # another object's failure, even worded like a wait
    first, second = _kopf_record("uid-1", "x"), _kopf_record("uid-1", "x")
    WaitingIsNotAnError(marks).filter(first)
    WaitingIsNotAnError(marks).filter(second)
    assert (first.levelno, second.levelno) == (logging.INFO, logging.ERROR)


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
