"""Member-account work for many accounts at once: the seam between the organization's one reconcile and the
per-account calls it needs.

Each member account has IAM and AWS Config quotas of its own (calls made with an assumed role count against the
account the role belongs to), so the work of different accounts does not compete: a baseline of 1,000 accounts
done one account after the other takes half an hour, done 16 at a time a few minutes. :class:`MemberWork` runs one
function per account on at most ``concurrency`` threads (``AWSORG_MEMBER_CONCURRENCY``); each account's own calls
stay in order in one thread, each call retried with its own backoff there (``RetryPolicy``), so a throttled, slow
or failing account occupies one thread and the others go on. The Organization adapter reads through it
(``MemberAccounts.read_roles``, ``CentralLoggingGateway.read_configs``); the engine's writes do not use it yet.
The only call that goes to the management account, STS AssumeRole, is paced by ``MemberAccounts``
(``AWSORG_STS_RATE``), once per account and hour.

This is the one place where member-account work is spread: a later version could hand each replica the accounts
of its shard here (``map`` is given every account and returns every account's result), without the adapters
knowing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 64  # session.MAX_POOL_CONNECTIONS: a shared client keeps that many connections open

_in_worker = threading.local()


class MemberWork:
    """Runs ``work(account)`` for many accounts, at most ``concurrency`` at a time (1: one after the other, in the
    caller's thread). Threads are made when first needed and kept for the process."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency {concurrency}: allowed 1-{MAX_CONCURRENCY}")
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="awsorg-member")
            return self._pool

    def map(self, accounts: Iterable[str], work: Callable[[str], T]) -> dict[str, T]:
        """Every account's result, in the order given. An exception raised by one account's work is raised here
        once every account's work has finished (``work`` is expected to turn AWS's errors into results)."""
        order = list(dict.fromkeys(accounts))
        if self.concurrency == 1 or len(order) <= 1 or getattr(_in_worker, "yes", False):
            return {account: work(account) for account in order}  # nested fan-outs run in their caller's thread

        def run(account: str) -> T:
            _in_worker.yes = True
            try:
                return work(account)
            finally:
                _in_worker.yes = False

        pool = self._executor()
        futures: dict[str, Future[T]] = {account: pool.submit(run, account) for account in order}
        found: dict[str, T] = {}
        first: BaseException | None = None
        for account, future in futures.items():
            try:
                found[account] = future.result()
            except Exception as exc:  # the others still finish; the first failure is raised after them
                first = first or exc
        if first is not None:
            raise first
        return found

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
