"""Creating requests and moving them through their workflow."""

from typing import Annotated

import strawberry

from db import requests as requests_db
from db.errors import (
    RequestNotFound,
    TransitionNotAllowed,
    ValidationFailed,
    VersionMismatch,
)
from db.requests import Actor
from db.tokens import create_token
from schema import validation
from schema.access import STAFF_ROLES, Viewer
from schema.common import Error, NotFound, ValidationError, require
from schema.context import Info
from schema.notifications import NotificationChannel
from schema.requests.types import Request, RequestEvent
from schema.workflows import Status


@strawberry.input
class ClientInput:
    name: str
    email: str | None = None
    phone: str | None = strawberry.field(default=None, description="Without a country code, read as Russian.")
    locale: str | None = strawberry.field(default=None, description="ru (default) or en.")
    channels: list[NotificationChannel] | None = strawberry.field(
        default=None, description="How to tell the client; every channel they gave details for when omitted."
    )


@strawberry.input
class CreateRequestInput:
    title: str
    client: ClientInput
    description: str | None = None
    service: str | None = None
    workflow: str | None = strawberry.field(default=None, description="Workflow key; the default when omitted.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Same key from the same caller: the same request, not a second one."
    )


@strawberry.input
class TransitionRequestInput:
    id: strawberry.ID
    to: str
    comment: str | None = None
    expected_version: int | None = strawberry.field(
        default=None, description="Refuse with VersionConflict unless the request is at this version."
    )
    notify_client: bool | None = True


@strawberry.type
class CreateRequestSuccess:
    request: Request
    client_access_token: str = strawberry.field(description="Lets the client read this request: give it to them.")
    portal_url: str = strawberry.field(description="The client's cabinet for this request, token included.")


@strawberry.type
class TransitionRequestSuccess:
    request: Request
    event: RequestEvent


@strawberry.type
class InvalidTransition(Error):
    message: str
    from_: Status = strawberry.field(name="from")
    to: str
    allowed: list[Status]


@strawberry.type
class VersionConflict(Error):
    message: str
    expected_version: int
    actual_version: int

    @classmethod
    def of(cls, error: VersionMismatch) -> "VersionConflict":
        return cls(message=error.message, expected_version=error.expected, actual_version=error.actual)


CreateRequestResult = Annotated[CreateRequestSuccess | ValidationError, strawberry.union("CreateRequestResult")]
TransitionRequestResult = Annotated[
    TransitionRequestSuccess | InvalidTransition | VersionConflict | NotFound | ValidationError,
    strawberry.union("TransitionRequestResult"),
]


def actor_of(viewer: Viewer) -> Actor:
    return Actor(role=viewer.role, name=viewer.name, token_id=viewer.token_id)


@strawberry.type
class RequestMutation:
    @strawberry.mutation(description="Integrations and staff: a new request, in its workflow's initial status.")
    async def create_request(self, info: Info, input: CreateRequestInput) -> CreateRequestResult:
        viewer = info.context.viewer
        require(viewer, ("admin", "staff", "integration"), "create requests")
        db = info.context.db
        try:
            new = validation.new_request(input)
            doc, _ = await requests_db.create_request(
                db, new=new, actor=actor_of(viewer),
                idempotency_key=validation.trimmed(input.idempotency_key) if input.idempotency_key else None,
            )
        except ValidationFailed as error:
            return ValidationError.of(error.problems)
        token = await create_token(
            db, role="client", name=doc["client"]["name"], client_id=doc["client"]["id"],
            request_ids=[doc["_id"]], locale=doc["client"]["locale"],
        )
        return CreateRequestSuccess(
            request=Request.from_doc(doc),
            client_access_token=token,
            portal_url=f"{info.context.public_url}/portal#token={token}",
        )

    @strawberry.mutation(description="Staff: move a request to another status its workflow allows.")
    async def transition_request(self, info: Info, input: TransitionRequestInput) -> TransitionRequestResult:
        viewer = info.context.viewer
        require(viewer, STAFF_ROLES, "move requests between statuses")
        problems = validation.Problems()
        to = validation.text(problems, "to", input.to, required=True, limit=validation.KEY_MAX)
        comment = validation.text(problems, "comment", input.comment, required=False, limit=validation.COMMENT_MAX,
                                  multiline=True)
        if problems:
            return ValidationError.of(problems)
        try:
            doc, event = await requests_db.transition_request(
                info.context.db, request_id=input.id, to=to, comment=comment, actor=actor_of(viewer),
                expected_version=input.expected_version, notify_client=input.notify_client is not False,
            )
        except RequestNotFound:
            return NotFound.of(input.id)
        except VersionMismatch as error:
            return VersionConflict.of(error)
        except TransitionNotAllowed as error:
            return InvalidTransition(
                message=error.message,
                from_=Status.seen_by(viewer, error.workflow.status(error.from_status)),
                to=error.to_status,
                allowed=[Status.seen_by(viewer, s) for s in error.allowed],
            )
        return TransitionRequestSuccess(request=Request.from_doc(doc), event=RequestEvent.from_doc(event))
