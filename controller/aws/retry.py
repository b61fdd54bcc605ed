"""Retries for transient AWS errors: exponential backoff with full jitter, bounded in attempts and time.

Modelled on hynek/stamina: retry only what is known to be transient (throttling, concurrent
modification), cap both the number of attempts and the total wait, and let everything else through at
once.  botocore's own retries are switched off so that every attempt is counted in the metrics.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from controller.aws.errors import AwsError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_total: float = 20.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


def call_with_retries(
    fn: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
) -> T:
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return fn()
        except AwsError as exc:
            attempt += 1
            if not exc.transient or attempt >= policy.attempts:
                raise
            pause = policy.delay(attempt)
            if time.monotonic() - started + pause > policy.max_total:
                raise
            sleep(pause)
