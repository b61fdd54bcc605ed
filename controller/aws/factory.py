"""The one place that builds the AWS side from the settings, for every composition root.

The operator (``awsorg run``), ``awsorg plan`` and ``awsorg export`` all reach AWS with the same credential
chain, ``AWSORG_ASSUME_ROLE_ARN``, ``AWSORG_MEMBER_ROLE_NAME`` and ``AWS_ENDPOINT_URL``: a :class:`Factory` holds
the settings and hands out what each needs (the operator's writing gateway, the dry run's recording readers,
export's read-only gateway, the events queue). A bad setting is a :class:`~controller.settings.SettingsError`
from :meth:`Factory.from_env`, before any AWS call.
"""

from __future__ import annotations

from typing import Any

from controller.aws.central_logging import CentralLoggingGateway
from controller.aws.dryrun import RecordingMembers
from controller.aws.events import EventsQueue
from controller.aws.fanout import MemberWork
from controller.aws.gateway import OrganizationsGateway
from controller.aws.member import MemberAccounts
from controller.aws.session import (
    account_client,
    cloudtrail_client,
    credentials_problem,
    iam_client,
    management_iam_client,
    member_service_client,
    organizations_client,
    sqs_client,
    sts_client,
)
from controller.settings import Settings


class Factory:
    """Builds gateways and clients from one :class:`~controller.settings.Settings`, on demand (in the manner of
    gafaelfawr's ``ComponentFactory``: a ``create_*`` method per component)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_env(cls) -> Factory:
        """From the ``AWSORG_*`` environment; raises ``SettingsError`` naming the variable."""
        return cls(Settings.from_env())

    # ---------------------------------------------------------------------------- clients
    def credentials_problem(self) -> str | None:
        """Why no AWS call can be made (no credentials found, and what to set), or None: before a command's first
        call, so that it fails at once instead of after botocore's instance-metadata probing and the retries."""
        return credentials_problem()

    def create_organizations_client(self) -> Any:
        return organizations_client(self.settings.assume_role_arn)

    def create_management_iam_client(self) -> Any:
        """IAM in the management account (centralized root access), with the operator's credentials."""
        return management_iam_client(self.settings.assume_role_arn)

    def create_trail_client(self, region: str) -> Any:
        """CloudTrail in the trail's home region."""
        return cloudtrail_client(region, self.settings.assume_role_arn)

    # ---------------------------------------------------------------------------- the operator
    def create_members(self) -> MemberAccounts:
        """Work inside member accounts: AssumeRole into ``AWSORG_MEMBER_ROLE_NAME``."""
        return MemberAccounts(sts_client(self.settings.assume_role_arn), iam_client, self.settings.member_role_name,
                              clients=member_service_client, work=MemberWork(self.settings.member_concurrency),
                              sts_rate=self.settings.sts_rate)

    def create_gateway(self) -> OrganizationsGateway:
        """The operator's gateway: it writes (Organizations, the Account Management API, member accounts, central
        logging)."""
        members = self.create_members()
        return OrganizationsGateway(
            self.create_organizations_client(),
            account_client=lambda: account_client(self.settings.assume_role_arn),
            members=members,
            central_logging=CentralLoggingGateway(members, self.create_trail_client),
            iam_client=self.create_management_iam_client,
        )

    def create_events_queue(self) -> EventsQueue | None:
        """The queue of AWS Organizations events (``AWSORG_EVENTS_QUEUE_URL``), or None when not configured."""
        if not self.settings.events_queue_url:
            return None
        return EventsQueue(sqs_client(self.settings.assume_role_arn), self.settings.events_queue_url)

    # ---------------------------------------------------------------------------- awsorg plan and export
    def create_recording_members(self, role_name: str | None = None) -> RecordingMembers:
        """Member accounts for a dry run: reads go to AWS, writes are recorded (``awsorg plan``); ``role_name``:
        the role assumed there (default: the operator's)."""
        return RecordingMembers(sts_client(self.settings.assume_role_arn), iam_client,
                                role_name or self.settings.member_role_name, clients=member_service_client)

    def create_reader(self) -> OrganizationsGateway:
        """A gateway used only to read the organization (``awsorg export``): no member accounts."""
        return OrganizationsGateway(self.create_organizations_client())
