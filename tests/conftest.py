"""AWS fixtures: one strict AWS Organizations sandbox per test session, fresh state per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.sandbox.aws import AwsSandbox
from controller.sandbox.throttle import DEFAULT_BURST, DEFAULT_RATE, DEFAULT_WRITE_SECONDS


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[AwsSandbox]:
    """The AWS Organizations sandbox, served over HTTP for the whole session (state not reset)."""
    with AwsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def aws(aws_sandbox: AwsSandbox) -> Iterator[AwsSandbox]:
    """The sandbox with fresh state: reset, bootstrapped (an organization, no policy type enabled),
    delays 0, no injected errors, empty call log, AWS's throttling and concurrent-modification refusals on
    with their defaults (full buckets, nothing counted).  ``aws.ids`` holds what ``bootstrap()`` returned."""
    aws_sandbox.create_account_delay = 0.0
    aws_sandbox.close_account_delay = 0.0
    aws_sandbox.quotas.defaults()  # AWS's: 10 accounts, its closure quota, policy types enabled at once
    aws_sandbox.member_role_delay = 0.0
    aws_sandbox.propagation_delay = 0.0
    traffic = aws_sandbox.traffic
    traffic.rate, traffic.burst, traffic.write_seconds = DEFAULT_RATE, DEFAULT_BURST, DEFAULT_WRITE_SECONDS
    aws_sandbox.reset()
    aws_sandbox.bootstrap()
    yield aws_sandbox
    aws_sandbox.clear_injected_errors()
