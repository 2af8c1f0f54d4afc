"""The client's feedback on a closed request."""

from typing import Annotated

import strawberry

from db.errors import FeedbackRefused, RequestNotFound
from db.requests import leave_feedback
from schema import validation
from schema.common import Error, NotFound, ValidationError, forbidden, unauthenticated
from schema.context import Info
from schema.requests.mutations import actor_of
from schema.requests.types import Request


@strawberry.input
class LeaveFeedbackInput:
    id: strawberry.ID
    rating: int = strawberry.field(description="1 (bad) to 5 (excellent).")
    comment: str | None = None


@strawberry.type
class LeaveFeedbackSuccess:
    request: Request


@strawberry.type(description="Feedback is taken once each time a request is closed.")
class FeedbackNotAllowed(Error):
    message: str


LeaveFeedbackResult = Annotated[
    LeaveFeedbackSuccess | FeedbackNotAllowed | NotFound | ValidationError, strawberry.union("LeaveFeedbackResult")
]


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(description="The client: rate a closed request, once for each time it was closed.")
    async def leave_feedback(self, info: Info, input: LeaveFeedbackInput) -> LeaveFeedbackResult:
        viewer = info.context.viewer
        if not viewer.is_authenticated:
            raise unauthenticated()
        if viewer.role != "client":
            raise forbidden("leave feedback: only the client can")
        problems = validation.Problems()
        if not 1 <= input.rating <= 5:
            problems.add("rating", "must be from 1 to 5")
        comment = validation.text(problems, "comment", input.comment, required=False,
                                  limit=validation.COMMENT_MAX, multiline=True)
        if problems:
            return ValidationError.of(problems)
        try:
            doc = await leave_feedback(info.context.db, request_id=input.id, rating=input.rating, comment=comment,
                                       actor=actor_of(viewer), visible=viewer.read_filter())
        except RequestNotFound:
            return NotFound.of(input.id)
        except FeedbackRefused as error:
            return FeedbackNotAllowed(message=error.message)
        return LeaveFeedbackSuccess(request=Request.from_doc(doc))
