"""Comments (public and internal), assignment, and who sees what of them."""

import asyncio

from gql import GraphQLRequest

from tests.conftest import create_request, transition

COMMENT = """mutation C($input: AddCommentInput!) { addComment(input: $input) { __typename
  ... on AddCommentSuccess { request { version } event { version type comment public actor { role } } }
  ... on NotFound { id } ... on ValidationError { fields { field } } } }"""
ASSIGN = """mutation A($input: AssignRequestInput!) { assignRequest(input: $input) { __typename
  ... on AssignRequestSuccess { request { assignee { name email phone } } event { type version } }
  ... on ValidationError { fields { field } } ... on VersionConflict { actualVersion } } }"""
HISTORY = "query H($id: ID!) { request(id: $id) { version history { version type comment public } } }"
WATCH = "subscription W($id: ID!, $since: Int) { requestUpdated(id: $id, sinceVersion: $since) { version type comment } }"


async def comment(herald, token, request_id, body, public=None):
    data = await herald.data(COMMENT, {"input": {"id": request_id, "body": body, "public": public}}, token)
    return data["addComment"]


async def test_clients_never_see_internal_comments(herald, tokens, db):
    created = await create_request(herald, tokens["integration"])
    request_id, client = created["request"]["id"], created["clientAccessToken"]
    internal = await comment(herald, tokens["staff"], request_id, "Client is a reseller, check the discount")
    assert internal["event"] == {"version": 2, "type": "COMMENT_ADDED", "comment": "Client is a reseller, check the discount",
                                 "public": False, "actor": {"role": "staff"}}
    public = await comment(herald, tokens["staff"], request_id, "Мы начали работу", public=True)
    mine = await comment(herald, client, request_id, "Спасибо! Жду макет", public=False)  # a client's is public
    assert (public["event"]["public"], mine["event"]["public"]) == (True, True)

    staff_history = (await herald.data(HISTORY, {"id": request_id}, tokens["staff"]))["request"]["history"]
    client_history = (await herald.data(HISTORY, {"id": request_id}, client))["request"]["history"]
    assert [e["version"] for e in staff_history] == [1, 2, 3, 4]
    assert [e["version"] for e in client_history] == [1, 3, 4]
    assert "reseller" not in str(client_history)

    # Over a subscription too: a replay and live events skip the internal comment.
    async with herald.ws_client(client) as session:
        received = []

        async def listen():
            async for event in session.subscribe(GraphQLRequest(WATCH, variable_values={"id": request_id, "since": 1})):
                received.append(event["requestUpdated"])
                if event["requestUpdated"]["version"] == 6:
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)
        await comment(herald, tokens["staff"], request_id, "internal again")
        await comment(herald, tokens["staff"], request_id, "Макет готов", public=True)
        await asyncio.wait_for(listener, 15)
    assert [(e["version"], e["comment"]) for e in received] == [
        (3, "Мы начали работу"), (4, "Спасибо! Жду макет"), (6, "Макет готов")]


async def test_a_public_staff_comment_is_sent_to_the_client(herald, tokens, db):
    created = await create_request(herald, tokens["integration"])
    request_id, client = created["request"]["id"], created["clientAccessToken"]
    await comment(herald, tokens["staff"], request_id, "internal")
    await comment(herald, tokens["staff"], request_id, "public", public=True)
    await comment(herald, client, request_id, "from the client")
    jobs = sorted(j["event_version"] for j in await db.notifications.find({"channel": "EMAIL"}).to_list())
    assert jobs == [1, 3]


async def test_comment_errors_are_data(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    other = await create_request(herald, tokens["integration"], client={"name": "B", "email": "b@example.com"})
    blank = await comment(herald, tokens["staff"], created["request"]["id"], "   ")
    assert blank == {"__typename": "ValidationError", "fields": [{"field": "body"}]}
    # a client commenting on another client's request finds nothing there
    foreign = await comment(herald, created["clientAccessToken"], other["request"]["id"], "hello")
    assert foreign == {"__typename": "NotFound", "id": other["request"]["id"]}


async def test_assignment_shows_whom_to_ask_and_tells_the_client(herald, tokens, db):
    created = await create_request(herald, tokens["integration"])
    request_id = created["request"]["id"]
    result = (await herald.data(ASSIGN, {"input": {"id": request_id, "expectedVersion": 1, "assignee": {
        "name": "Ольга Петрова", "email": "Olga@Studio.example", "phone": "8 903 123-45-67"}}}, tokens["staff"]))
    assert result["assignRequest"] == {"__typename": "AssignRequestSuccess",
                                       "request": {"assignee": {"name": "Ольга Петрова", "email": "Olga@studio.example",
                                                                "phone": "+79031234567"}},
                                       "event": {"type": "ASSIGNED", "version": 2}}
    seen = await herald.data("query R($id: ID!) { request(id: $id) { assignee { name } } }", {"id": request_id},
                             created["clientAccessToken"])
    assert seen["request"]["assignee"] == {"name": "Ольга Петрова"}
    assert await db.notifications.count_documents({"event_version": 2, "channel": "EMAIL"}) == 1

    stale = await herald.data(ASSIGN, {"input": {"id": request_id, "expectedVersion": 1, "assignee": None}},
                              tokens["staff"])
    assert stale["assignRequest"] == {"__typename": "VersionConflict", "actualVersion": 2}
    bad = await herald.data(ASSIGN, {"input": {"id": request_id, "assignee": {"name": "", "email": "nope"}}},
                            tokens["staff"])
    assert {f["field"] for f in bad["assignRequest"]["fields"]} == {"assignee.name", "assignee.email"}
    body = await herald.graphql(ASSIGN, {"input": {"id": request_id, "assignee": None}}, created["clientAccessToken"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    unassigned = await herald.data(ASSIGN, {"input": {"id": request_id, "assignee": None}}, tokens["staff"])
    assert unassigned["assignRequest"]["event"] == {"type": "UNASSIGNED", "version": 3}
