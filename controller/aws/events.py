"""AWS Organizations' CloudTrail events, as an EventBridge rule puts them into an SQS queue.

The queue (``AWSORG_EVENTS_QUEUE_URL``) is filled by a rule on the default event bus in us-east-1 with the
pattern ``{"source": ["aws.organizations"], "detail-type": ["AWS API Call via CloudTrail"]}``
(docs/operating.md, "Drift in seconds"). The operator long-polls it: each event names the API call made
outside (or by) the operator and its parameters, so only that part of the organization is read again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from controller.aws.errors import map_error


@dataclass(frozen=True)
class OrganizationsEvent:
    receipt: str
    name: str  # CloudTrail's eventName: MoveAccount, UpdateOrganizationalUnit, ...
    request_id: str | None  # CloudTrail's requestID: the RequestId the caller got back
    params: dict[str, Any] = field(default_factory=dict)  # requestParameters (lowerCamelCase)


class EventsQueue:
    """Receive and delete messages of one SQS queue (the only code reading it)."""

    def __init__(self, client: Any, queue_url: str, wait_seconds: int = 20) -> None:
        self._client = client
        self.url = queue_url
        self.wait_seconds = wait_seconds

    def receive(self) -> list[OrganizationsEvent]:
        """Long-poll for up to 10 events (an empty list after ``wait_seconds`` with none)."""
        try:
            answer = self._client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                  WaitTimeSeconds=self.wait_seconds)
        except Exception as exc:
            raise map_error("ReceiveMessage", exc) from exc
        events = []
        for message in answer.get("Messages", []):
            try:
                body = json.loads(message.get("Body") or "{}")
            except ValueError:
                body = {}
            detail = body.get("detail") if isinstance(body, dict) else None
            detail = detail if isinstance(detail, dict) else {}
            params = detail.get("requestParameters")
            events.append(OrganizationsEvent(message["ReceiptHandle"], str(detail.get("eventName") or ""),
                                             detail.get("requestID"), params if isinstance(params, dict) else {}))
        return events

    def delete(self, events: list[OrganizationsEvent]) -> None:
        if not events:
            return
        entries = [{"Id": str(i), "ReceiptHandle": e.receipt} for i, e in enumerate(events)]
        try:
            self._client.delete_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception as exc:
            raise map_error("DeleteMessageBatch", exc) from exc
