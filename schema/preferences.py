"""The client's choice of channels and language."""

from dataclasses import replace
from typing import Annotated

import strawberry

from db.errors import FieldProblem
from db.requests import set_client_preferences
from schema import validation
from schema.common import ValidationError, require
from schema.context import Info
from schema.notifications import UpdateNotificationPreferencesInput
from schema.requests.types import Client, Request


@strawberry.type
class UpdateNotificationPreferencesSuccess:
    client: Client
    requests: list[Request] = strawberry.field(description="The requests the new preferences apply to.")


UpdateNotificationPreferencesResult = Annotated[
    UpdateNotificationPreferencesSuccess | ValidationError, strawberry.union("UpdateNotificationPreferencesResult")
]


def _check_channels(problems: validation.Problems, channels: list[str], requests: list[dict]) -> None:
    for channel in channels:
        if channel not in validation.CLIENT_CHANNELS:
            problems.add("channels", f"{channel} is not a channel for clients")
            continue
        contact = "email" if channel == "EMAIL" else "phone"
        if any(not doc["client"].get(contact) for doc in requests):
            problems.add("channels", f"{channel} needs {'an email' if contact == 'email' else 'a phone number'}, "
                                     "which this request does not have")


@strawberry.type
class PreferencesMutation:
    @strawberry.mutation(description="The client: choose channels (an empty list unsubscribes) and language.")
    async def update_notification_preferences(
        self, info: Info, input: UpdateNotificationPreferencesInput
    ) -> UpdateNotificationPreferencesResult:
        viewer = info.context.viewer
        require(viewer, ("client",), "change a client's notification preferences")
        problems = validation.Problems()
        channels = None if input.channels is None else list(dict.fromkeys(ch.value for ch in input.channels))
        locale = validation.locale(problems, "locale", input.locale) if input.locale is not None else None
        db, visible = info.context.db, viewer.read_filter()
        if channels:
            _check_channels(problems, channels, await db.requests.find(visible, {"client": 1}).to_list())
        if problems:
            return ValidationError.of(problems)
        docs = await set_client_preferences(db, visible=visible, channels=channels, locale=locale)
        if not docs:
            return ValidationError.of([FieldProblem("channels", "this token reaches no request to apply it to")])
        if locale is not None:  # what this answer shows is already in the new language
            info.context.viewer = replace(viewer, locale=locale)
        return UpdateNotificationPreferencesSuccess(
            client=Client.from_doc(docs[0]["client"]),
            requests=[Request.from_doc(doc) for doc in docs],
        )
