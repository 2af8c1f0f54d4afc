"""Notification channels and the delivery status of the messages sent about a request."""

from enum import Enum

import strawberry


@strawberry.enum
class NotificationChannel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    WEBHOOK = "WEBHOOK"


@strawberry.type(description="One message about one event, and how its delivery went.")
class Notification:
    channel: NotificationChannel
    state: str = strawberry.field(description="PENDING, SENDING, SENT or FAILED.")
    attempts: int
    last_error: str | None
    event_version: int

    @classmethod
    def from_doc(cls, doc: dict) -> "Notification":
        return cls(
            channel=NotificationChannel(doc["channel"]),
            state=doc["state"],
            attempts=doc.get("attempts", 0),
            last_error=doc.get("last_error"),
            event_version=doc["event_version"],
        )


@strawberry.input
class UpdateNotificationPreferencesInput:
    channels: list[NotificationChannel] | None = strawberry.field(
        default=None, description="How to be told: an empty list unsubscribes from every message."
    )
    locale: str | None = strawberry.field(default=None, description="ru or en.")
