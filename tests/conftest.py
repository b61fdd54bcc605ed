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


#: The longest tests and modules, started first so that no worker is left with one of them at the end of a parallel
#: run (pytest-xdist hands tests out in collection order); measured with `pytest --durations=0`, longest first.
SLOW_FIRST = (
    "tests/test_demo.py::test_demo_applies_the_landing_zone_and_everything_is_ready",
    "tests/test_demo_serve.py",
    "tests/test_member_memory.py",
    "tests/e2e/test_resync.py",
    "tests/test_api_cost.py",
    "tests/e2e/test_throttling.py",
    "tests/e2e/test_account_crash.py",
    "tests/e2e/test_stop.py",
    "tests/e2e/test_plan_table.py",
    "tests/e2e/test_central_logging.py",
    "tests/e2e/test_access_role.py",
    "tests/e2e/test_account.py",
    "tests/test_export.py",
    "tests/deploy/test_iam_policy.py",
)


def _rank(item: pytest.Item) -> int:
    for i, prefix in enumerate(SLOW_FIRST):
        if item.nodeid.startswith(prefix):
            return i
    return len(SLOW_FIRST)


#: Modules whose tests share a module-scoped fixture that is costly to set up (`demo --serve`: a minute under load;
#: kubectl, promtool, kustomize builds): each runs on one worker (`--dist loadgroup`), so it is set up once.
ONE_WORKER = (
    "tests/test_demo_serve.py",
    "tests/sandbox/test_aws_strict.py",
    "tests/sandbox/test_crd_admission.py",
    "tests/sandbox/test_aws_account_api.py",
    "tests/monitoring/test_alerts.py",
    "tests/deploy/test_crd_explain.py",
    "tests/deploy/test_kustomize.py",
    "tests/deploy/test_image.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the rest keep their order
    for item in items:
        module = item.nodeid.partition("::")[0]
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
