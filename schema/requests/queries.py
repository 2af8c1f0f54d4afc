"""Reading requests: one by id, or a page of them."""

import base64
import binascii

import strawberry
from bson import ObjectId
from bson.errors import InvalidId

from db.requests import find_request, list_requests
from schema.common import bad_argument, require
from schema.context import Info
from schema.requests.types import PageInfo, Request, RequestConnection, RequestEdge

PAGE_MAX = 100
SEARCH_MAX = 200


def encode_cursor(request_id: ObjectId) -> str:
    return base64.urlsafe_b64encode(request_id.binary).decode().rstrip("=")


def decode_cursor(cursor: str) -> ObjectId:
    try:
        return ObjectId(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, InvalidId, ValueError, TypeError):
        raise bad_argument("after", "is not a cursor this API gave out") from None


@strawberry.type
class RequestQuery:
    @strawberry.field(description="A request by id or number; null when missing or not visible to the caller.")
    async def request(self, info: Info, id: strawberry.ID) -> Request | None:
        require(info.context.viewer)
        doc = await find_request(info.context.db, request_id=id, visible=info.context.viewer.read_filter())
        return Request.from_doc(doc) if doc else None

    @strawberry.field(description="Requests the caller may see, newest first. search: number, title or client email.")
    async def requests(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: list[str] | None = None,
        search: str | None = None,
    ) -> RequestConnection:
        require(info.context.viewer)
        first = 20 if first is None else first
        if not 0 <= first <= PAGE_MAX:
            raise bad_argument("first", f"must be between 0 and {PAGE_MAX}")
        if search is not None and len(search) > SEARCH_MAX:
            raise bad_argument("search", f"must be at most {SEARCH_MAX} characters")
        docs, has_next = await list_requests(
            info.context.db,
            visible=info.context.viewer.read_filter(),
            statuses=status,
            search=search,
            first=first,
            after=decode_cursor(after) if after else None,
        )
        edges = [RequestEdge(cursor=encode_cursor(doc["_id"]), node=Request.from_doc(doc)) for doc in docs]
        return RequestConnection(
            edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)
        )
