"""The client's feedback on a closed request."""

from datetime import datetime
from typing import Annotated

import strawberry

from db.errors import FeedbackRefused, RequestNotFound
from db.feedback import feedback_figures
from db.requests import leave_feedback
from schema import validation
from schema.access import STAFF_ROLES
from schema.common import Error, NotFound, ValidationError, require
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
class RatingCount:
    rating: int
    count: int


@strawberry.type(description="How clients rated closed requests in a period.")
class FeedbackStats:
    count: int = strawberry.field(description="Feedback left in the period.")
    average: float | None = strawberry.field(description="Mean rating; null without feedback.")
    distribution: list[RatingCount] = strawberry.field(description="How many of each rating, 1 to 5.")
    closed: int = strawberry.field(description="Closures in the period (a request closed twice counts twice).")
    response_rate: float | None = strawberry.field(description="Feedback per closure; null without closures.")


@strawberry.type
class FeedbackQuery:
    @strawberry.field(description="Staff: feedback figures for [from, to), for one workflow or all.")
    async def feedback_stats(self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
                             to: datetime | None = None, workflow: str | None = None) -> FeedbackStats:
        viewer = info.context.viewer
        require(viewer, STAFF_ROLES, "read feedback statistics")
        figures = await feedback_figures(info.context.db, since=from_, until=to, workflow=workflow)
        return FeedbackStats(
            count=figures.count, average=figures.average, closed=figures.closed, response_rate=figures.response_rate,
            distribution=[RatingCount(rating=r, count=n) for r, n in sorted(figures.distribution.items())],
        )


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(description="The client: rate a closed request, once for each time it was closed.")
    async def leave_feedback(self, info: Info, input: LeaveFeedbackInput) -> LeaveFeedbackResult:
        viewer = info.context.viewer
        require(viewer, ("client",), "leave feedback: only the client can")
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
