"""Assignment: who handles a request, so the client knows whom to ask."""

from typing import Annotated

import strawberry

from db.errors import RequestNotFound, VersionMismatch
from db.requests import assign_request
from schema import validation
from schema.access import STAFF_ROLES
from schema.common import NotFound, ValidationError, require
from schema.context import Info
from schema.requests.mutations import VersionConflict, actor_of
from schema.requests.types import Request, RequestEvent


@strawberry.input
class StaffInput:
    name: str
    email: str | None = None
    phone: str | None = None


@strawberry.input
class AssignRequestInput:
    id: strawberry.ID
    assignee: StaffInput | None = strawberry.field(description="Who handles it; null: nobody.")
    expected_version: int | None = None


@strawberry.type
class AssignRequestSuccess:
    request: Request
    event: RequestEvent


AssignRequestResult = Annotated[
    AssignRequestSuccess | VersionConflict | NotFound | ValidationError, strawberry.union("AssignRequestResult")
]


def checked_assignee(problems: validation.Problems, staff: StaffInput | None) -> dict | None:
    if staff is None:
        return None
    return {
        "name": validation.text(problems, "assignee.name", staff.name, required=True, limit=validation.NAME_MAX),
        "email": validation.email(problems, "assignee.email", staff.email),
        "phone": validation.phone(problems, "assignee.phone", staff.phone),
    }


@strawberry.type
class AssignmentMutation:
    @strawberry.mutation(description="Staff: name who handles a request; the client is told.")
    async def assign_request(self, info: Info, input: AssignRequestInput) -> AssignRequestResult:
        viewer = info.context.viewer
        require(viewer, STAFF_ROLES, "assign requests")
        problems = validation.Problems()
        assignee = checked_assignee(problems, input.assignee)
        if problems:
            return ValidationError.of(problems)
        try:
            doc, event = await assign_request(info.context.db, request_id=input.id, assignee=assignee,
                                              actor=actor_of(viewer), expected_version=input.expected_version)
        except RequestNotFound:
            return NotFound.of(input.id)
        except VersionMismatch as error:
            return VersionConflict.of(error)
        return AssignRequestSuccess(request=Request.from_doc(doc), event=RequestEvent.from_doc(event))
