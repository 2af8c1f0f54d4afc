"""Requests through the real HTTP endpoint: each mutation's success and typed errors, the lifecycle, reads."""

import asyncio

from tests.conftest import CREATE, TRANSITION, create_request, request_input, transition

LIFECYCLE = ["in_progress", "completing", "closed"]

HISTORY = """
query One($id: ID!) {
  request(id: $id) {
    number version status { key label terminal } allowedTransitions { key }
    history { version type from { key } to { key label } comment actor { role name } }
    notifications { channel state }
  }
}
"""


async def test_full_default_lifecycle(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    request = created["request"]
    assert request["number"] == "REQ-000001"
    assert request["version"] == 1
    assert request["status"] == {"key": "received", "label": "Заявка получена"}

    for version, to in enumerate(LIFECYCLE, start=2):
        result = await transition(herald, tokens["staff"], request["id"], to, comment=f"now {to}")
        assert result["__typename"] == "TransitionRequestSuccess", result
        assert result["request"]["version"] == version
        assert result["event"] == {"version": version, "type": "STATUS_CHANGED", "from": {"key": result["event"]["from"]["key"]},
                                   "to": {"key": to}, "comment": f"now {to}"}

    read = (await herald.data(HISTORY, {"id": request["id"]}, tokens["staff"]))["request"]
    assert read["status"] == {"key": "closed", "label": "Закрыто", "terminal": True}
    assert read["allowedTransitions"] == [{"key": "in_progress"}]  # staff may reopen
    assert [(e["version"], e["type"], e["from"] and e["from"]["key"], e["to"]["key"]) for e in read["history"]] == [
        (1, "CREATED", None, "received"),
        (2, "STATUS_CHANGED", "received", "in_progress"),
        (3, "STATUS_CHANGED", "in_progress", "completing"),
        (4, "STATUS_CHANGED", "completing", "closed"),
    ]
    assert read["history"][1]["actor"] == {"role": "staff", "name": "Staff Tester"}
    assert read["history"][0]["actor"] == {"role": "integration", "name": "Integration Tester"}


async def test_labels_follow_the_callers_language(herald, tokens):
    request = (await create_request(herald, tokens["integration"]))["request"]
    english = await herald.data(HISTORY, {"id": request["id"]}, tokens["staff"], headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english["request"]["status"]["label"] == "Received"
    assert [s["key"] for s in english["request"]["allowedTransitions"]] == ["in_progress", "closed"]
    workflow = await herald.data("{ workflow { key name initial { key label } statuses { key label terminal } } }",
                                 headers={"Accept-Language": "en"})
    assert workflow["workflow"]["statuses"] == [
        {"key": "received", "label": "Received", "terminal": False},
        {"key": "in_progress", "label": "In progress", "terminal": False},
        {"key": "completing", "label": "Completing", "terminal": False},
        {"key": "closed", "label": "Closed", "terminal": True},
    ]


async def test_a_client_sees_labels_in_the_clients_language(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "John", "email": "john@example.com", "locale": "en"})
    read = await herald.data(HISTORY, {"id": created["request"]["id"]}, created["clientAccessToken"])
    assert read["request"]["status"]["label"] == "Received"
    assert read["request"]["allowedTransitions"] == []  # clients do not move requests


async def test_invalid_transition_lists_what_is_allowed(herald, tokens):
    request = (await create_request(herald, tokens["integration"]))["request"]
    result = await transition(herald, tokens["staff"], request["id"], "completing")
    assert result["__typename"] == "InvalidTransition"
    assert result["from"] == {"key": "received"}
    assert result["to"] == "completing"
    assert [s["key"] for s in result["allowed"]] == ["in_progress", "closed"]
    assert result["message"] == "no transition from 'received' to 'completing'; allowed: 'in_progress', 'closed'"
    unknown = await transition(herald, tokens["staff"], request["id"], "nonsense")
    assert unknown["__typename"] == "InvalidTransition"


async def test_version_conflict_names_the_actual_version(herald, tokens):
    request = (await create_request(herald, tokens["integration"]))["request"]
    await transition(herald, tokens["staff"], request["id"], "in_progress", expectedVersion=1)
    stale = await transition(herald, tokens["staff"], request["id"], "completing", expectedVersion=1)
    assert stale["__typename"] == "VersionConflict"
    assert (stale["expectedVersion"], stale["actualVersion"]) == (1, 2)


async def test_not_found_for_missing_and_malformed_ids(herald, tokens):
    for missing in ("6b1197e5e29327196f1fee8a", "REQ-424242", "not an id"):
        result = await transition(herald, tokens["staff"], missing, "in_progress")
        assert result == {"__typename": "NotFound", "message": f"no request with id '{missing}'", "id": missing}
        assert (await herald.data(HISTORY, {"id": missing}, tokens["staff"]))["request"] is None


async def test_transition_input_errors_are_data(herald, tokens):
    request = (await create_request(herald, tokens["integration"]))["request"]
    result = await transition(herald, tokens["staff"], request["id"], "  ", comment="x\x00y")
    assert result["__typename"] == "ValidationError"
    assert {f["field"] for f in result["fields"]} == {"to", "comment"}


async def test_a_request_can_be_read_by_number(herald, tokens):
    created = (await create_request(herald, tokens["integration"]))["request"]
    for key in ("REQ-000001", "req-1", "1"):
        assert (await herald.data(HISTORY, {"id": key}, tokens["staff"]))["request"]["number"] == created["number"]


async def test_numbers_are_unique_and_increasing(herald, tokens):
    results = await asyncio.gather(*(create_request(herald, tokens["integration"], title=f"Site {i}") for i in range(12)))
    numbers = sorted(r["request"]["number"] for r in results)
    assert numbers == [f"REQ-{n:06d}" for n in range(1, 13)]


async def test_create_returns_a_token_for_the_client_and_the_portal_link(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    token = created["clientAccessToken"]
    assert created["portalUrl"] == f"http://herald.test/portal#token={token}"
    viewer = await herald.data("{ viewer { role name } }", token=token)
    assert viewer["viewer"] == {"role": "client", "name": "Анна"}
    read = await herald.data(HISTORY, {"id": created["request"]["id"]}, token)
    assert read["request"]["number"] == created["request"]["number"]


async def test_channels_default_to_every_contact_given(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Ирина", "email": "irina@example.ru", "phone": "+7 903 765-43-21"})
    assert created["request"]["client"] == {"name": "Ирина", "email": "irina@example.ru", "phone": "+79037654321",
                                            "locale": "ru", "channels": ["EMAIL", "SMS"]}


async def test_several_bad_fields_are_named_at_once(herald, tokens, db):
    body = await herald.data(CREATE, {"input": {"title": "", "client": {"name": "", "email": "nope", "locale": "de",
                                                                         "channels": ["WEBHOOK"]}}}, tokens["integration"])
    fields = {f["field"] for f in body["createRequest"]["fields"]}
    assert fields == {"title", "client.name", "client.email", "client.locale", "client.channels"}
    assert await db.requests.count_documents({}) == 0


async def test_an_unknown_workflow_is_a_validation_error(herald, tokens, db):
    body = await herald.data(CREATE, {"input": request_input(workflow="repairs")}, tokens["integration"])
    assert body["createRequest"]["fields"] == [{"field": "workflow", "message": "no workflow with key 'repairs'"}]
    assert await db.requests.count_documents({}) == 0


async def test_text_is_stored_as_given_not_escaped(herald, tokens, db):
    created = await create_request(herald, tokens["integration"], title="<b>Tom & Jerry</b>",
                                   description='{"$gt": ""}\nline two')
    stored = await db.requests.find_one({"number": created["request"]["number"]})
    assert stored["title"] == "<b>Tom & Jerry</b>"
    assert stored["description"] == '{"$gt": ""}\nline two'


class TestIdempotency:
    async def test_the_same_key_from_the_same_caller_is_the_same_request(self, herald, tokens, db):
        first = await create_request(herald, tokens["integration"], idempotencyKey="order-17")
        again = await create_request(herald, tokens["integration"], idempotencyKey="order-17")
        assert again["request"]["id"] == first["request"]["id"]
        assert await db.requests.count_documents({}) == 1
        # the token handed out again reads the same request
        read = await herald.data(HISTORY, {"id": first["request"]["id"]}, again["clientAccessToken"])
        assert read["request"] is not None

    async def test_concurrent_retries_create_one_request(self, herald, tokens, db):
        results = await asyncio.gather(
            *(create_request(herald, tokens["integration"], idempotencyKey="order-18") for _ in range(10))
        )
        assert len({r["request"]["id"] for r in results}) == 1
        assert await db.requests.count_documents({}) == 1
        assert await db.request_events.count_documents({}) == 1

    async def test_keys_belong_to_their_caller(self, herald, tokens, db):
        one = await create_request(herald, tokens["integration"], idempotencyKey="shared")
        two = await create_request(herald, tokens["staff"], idempotencyKey="shared")
        assert one["request"]["id"] != two["request"]["id"]

    async def test_a_key_reused_for_a_different_request_is_refused(self, herald, tokens, db):
        await create_request(herald, tokens["integration"], idempotencyKey="order-19")
        body = await herald.data(CREATE, {"input": request_input(title="Another", idempotencyKey="order-19")},
                                 tokens["integration"])
        assert body["createRequest"]["fields"][0]["field"] == "idempotencyKey"
        assert await db.requests.count_documents({}) == 1


LIST = """
query List($first: Int, $after: String, $status: [String!], $search: String) {
  requests(first: $first, after: $after, status: $status, search: $search) {
    edges { cursor node { number title status { key } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class TestListing:
    async def test_pages_newest_first_without_overlap(self, herald, tokens):
        for i in range(5):
            await create_request(herald, tokens["integration"], title=f"Site {i}")
        seen, after = [], None
        while True:
            page = (await herald.data(LIST, {"first": 2, "after": after}, tokens["staff"]))["requests"]
            seen += [e["node"]["number"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == [f"REQ-{n:06d}" for n in (5, 4, 3, 2, 1)]

    async def test_filter_by_status_and_search(self, herald, tokens):
        a = (await create_request(herald, tokens["integration"], title="Bakery site"))["request"]
        await create_request(herald, tokens["integration"], title="Clinic portal",
                             client={"name": "Dr", "email": "petrov@clinic.example"})
        await transition(herald, tokens["staff"], a["id"], "in_progress")

        async def numbers(**variables):
            page = (await herald.data(LIST, variables, tokens["staff"]))["requests"]
            return [e["node"]["number"] for e in page["edges"]]

        assert await numbers(status=["in_progress"]) == ["REQ-000001"]
        assert await numbers(status=["received", "closed"]) == ["REQ-000002"]
        assert await numbers(search="bakery") == ["REQ-000001"]
        assert await numbers(search="CLINIC.example") == ["REQ-000002"]
        assert await numbers(search="REQ-000002") == ["REQ-000002"]
        assert await numbers(search="2") == ["REQ-000002"]
        assert await numbers(search=".*") == []  # search text is literal, not a pattern

    async def test_bad_page_arguments_are_named(self, herald, tokens):
        for variables, argument in (({"first": 500}, "first"), ({"first": -1}, "first"), ({"after": "%%%"}, "after")):
            body = await herald.graphql(LIST, variables, tokens["staff"])
            assert body["errors"][0]["message"].startswith(argument + ":")
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


FEEDBACK = """
mutation Rate($input: LeaveFeedbackInput!) {
  leaveFeedback(input: $input) {
    __typename
    ... on LeaveFeedbackSuccess { request { version feedback { rating comment } } }
    ... on Error { message }
    ... on ValidationError { fields { field } }
  }
}
"""


async def test_feedback_once_the_request_is_closed(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    request_id, client = created["request"]["id"], created["clientAccessToken"]

    async def rate(rating, comment=None):
        data = await herald.data(FEEDBACK, {"input": {"id": request_id, "rating": rating, "comment": comment}}, client)
        return data["leaveFeedback"]

    early = await rate(5)
    assert early == {"__typename": "FeedbackNotAllowed", "message": "feedback can be left once the request is closed"}
    await transition(herald, tokens["staff"], request_id, "closed", notifyClient=False)
    assert (await rate(0))["fields"] == [{"field": "rating"}]
    done = await rate(4, "Быстро и понятно")
    assert done == {"__typename": "LeaveFeedbackSuccess",
                    "request": {"version": 3, "feedback": {"rating": 4, "comment": "Быстро и понятно"}}}
    assert (await rate(5))["__typename"] == "FeedbackNotAllowed"
    history = (await herald.data(HISTORY, {"id": request_id}, tokens["staff"]))["request"]["history"]
    assert history[-1]["type"] == "FEEDBACK_LEFT"
