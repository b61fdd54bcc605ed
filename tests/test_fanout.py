"""MemberWork: many accounts at once, one slow or failing account never holding the others."""

from __future__ import annotations

import threading
import time

import pytest

from controller.aws.fanout import MemberWork
from controller.aws.member import Pace


def test_a_slow_account_holds_one_worker_and_the_others_finish_meanwhile() -> None:
    finished: dict[str, float] = {}
    release = threading.Event()

    def work(account: str) -> str:
        if account == "slow":
            release.wait(10)
        else:
            time.sleep(0.05)
        finished[account] = time.monotonic()
        if len(finished) == 20:
            release.set()
        return account.upper()

    accounts = ["slow", *(f"a{i}" for i in range(20))]
    found = MemberWork(4).map(accounts, work)
    assert list(found) == accounts and found["a3"] == "A3"  # every answer, in the order given
    assert all(finished[a] < finished["slow"] for a in accounts[1:])  # 20 accounts done on 3 workers meanwhile


def test_a_failing_account_s_error_is_raised_after_every_other_account_finished() -> None:
    done: list[str] = []

    def work(account: str) -> None:
        if account == "bad":
            raise ValueError("bad account")
        time.sleep(0.02)
        done.append(account)

    with pytest.raises(ValueError, match="bad account"):
        MemberWork(3).map(["bad", *(f"a{i}" for i in range(9))], work)
    assert len(done) == 9


def test_work_runs_at_most_concurrency_at_once_and_nested_fan_outs_do_not_deadlock() -> None:
    running, most = [0], [0]
    lock = threading.Lock()
    work = MemberWork(3)

    def one(account: str) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        inner = work.map([f"{account}-x", f"{account}-y"], len)  # in the caller's thread
        with lock:
            running[0] -= 1
        return sum(inner.values())

    assert set(work.map([f"a{i}" for i in range(12)], one).values()) == {8, 10}  # len("a1-x") + len("a1-y"), ...a10
    assert most[0] == 3
    with pytest.raises(ValueError, match="1-64"):
        MemberWork(0)


def test_assume_role_is_paced_across_threads() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(30):
        pace.wait()
    assert 1.9 <= now[0] <= 2.1  # a burst of 10, then 10 a second
