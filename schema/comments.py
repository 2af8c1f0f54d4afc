"""Comments on a request: public ones the client sees (and is told of), internal ones only staff."""

from typing import Annotated

import strawberry

from db.errors import RequestNotFound
from db.requests import add_comment
from schema import validation
from schema.common import NotFound, ValidationError, require
from schema.context import Info
from schema.requests.mutations import actor_of
from schema.requests.types import Request, RequestEvent


@strawberry.input
class AddCommentInput:
    id: strawberry.ID
    body: str
    public: bool | None = strawberry.field(
        default=None, description="Staff: true shows it to the client and tells them (internal by default). "
                                  "A client's comment is always public.")


@strawberry.type
class AddCommentSuccess:
    request: Request
    event: RequestEvent


AddCommentResult = Annotated[AddCommentSuccess | NotFound | ValidationError, strawberry.union("AddCommentResult")]


@strawberry.type
class CommentMutation:
    @strawberry.mutation(description="Staff or the client: add a comment to a request's history.")
    async def add_comment(self, info: Info, input: AddCommentInput) -> AddCommentResult:
        viewer = info.context.viewer
        require(viewer)
        problems = validation.Problems()
        body = validation.text(problems, "body", input.body, required=True, limit=validation.COMMENT_MAX,
                               multiline=True)
        if problems:
            return ValidationError.of(problems)
        public = True if viewer.role == "client" else bool(input.public)
        try:
            # An integration comments on what it can see, like everyone else.
            doc, event = await add_comment(info.context.db, request_id=input.id, body=body, public=public,
                                           actor=actor_of(viewer), visible=viewer.read_filter())
        except RequestNotFound:
            return NotFound.of(input.id)
        return AddCommentSuccess(request=Request.from_doc(doc), event=RequestEvent.from_doc(event))
