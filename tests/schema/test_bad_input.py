"""Odd and hostile input gets a clear error as data, never a 500, a hang or a stored mess."""

import pytest

from tests.conftest import CREATE, create_request, request_input

LIST = "query L($search: String) { requests(search: $search) { edges { node { number } } } }"


@pytest.mark.parametrize("title, problem", [
    ("a\ud800b", "must be valid Unicode text (it holds a lone surrogate)"),
    ("\u3164\u2800", "must not be empty"),
    ("\u0301\u0301", "must not be empty"),
    ("\u00ad\u2061\u2062", "must not be empty"),
    ("line one\u2028line two", "must be a single line"),
    ("a\nb", "must be a single line"),
    ("abc\u202egpj.exe", "must not contain text direction overrides"),
    ("bell\x07", "must not contain control characters"),
])
async def test_titles_that_would_mislead_are_refused(herald, tokens, db, title, problem):
    body = await herald.data(CREATE, {"input": request_input(title=title)}, tokens["integration"])
    assert body["createRequest"]["fields"] == [{"field": "title", "message": problem}]
    assert await db.requests.count_documents({}) == 0


@pytest.mark.parametrize("phone", ["+7 912 345-67-89 ext. 123", "+7 (912) CALL-NOW", "позвоните мне"])
async def test_phones_with_letters_are_refused_not_guessed(herald, tokens, phone):
    body = await herald.data(CREATE, {"input": request_input(client={"name": "A", "phone": phone})},
                             tokens["integration"])
    assert [f["field"] for f in body["createRequest"]["fields"]] == ["client.phone"]


async def test_a_garbled_locale_is_refused(herald, tokens):
    body = await herald.data(CREATE, {"input": request_input(client={"name": "A", "email": "a@example.com",
                                                                      "locale": "en-zzzz!!"})}, tokens["integration"])
    assert [f["field"] for f in body["createRequest"]["fields"]] == ["client.locale"]


async def test_idempotency_keys_are_trimmed_and_must_not_be_blank(herald, tokens, db):
    first = await create_request(herald, tokens["integration"], idempotencyKey=" order-777 ")
    again = await create_request(herald, tokens["integration"], idempotencyKey="order-777")
    assert first["request"]["id"] == again["request"]["id"]
    blank = await herald.data(CREATE, {"input": request_input(idempotencyKey="   ")}, tokens["integration"])
    assert [f["field"] for f in blank["createRequest"]["fields"]] == ["idempotencyKey"]


async def test_a_long_search_is_refused_by_name(herald, tokens):
    body = await herald.graphql(LIST, {"search": "a" * 201}, tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"].startswith("search:")
    ok = await herald.data(LIST, {"search": ". " * 100}, tokens["staff"])  # punctuation doubles in the pattern
    assert ok["requests"]["edges"] == []


@pytest.mark.parametrize("body", [b'"hello"', b"null", b"123", b"[1]", b'{"query": "{ viewer { role } }"\xff}', b"{"])
async def test_malformed_bodies_get_a_json_400(herald, body):
    response = await herald.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_oversized_body_gets_413(herald, tokens, db):
    huge = {"query": CREATE, "variables": {"input": request_input(title="x" * (2 << 20))}}
    response = await herald.http.post("/graphql", json=huge, headers={"Authorization": f"Bearer {tokens['integration']}"})
    assert response.status_code == 413
    assert await db.requests.count_documents({}) == 0


async def test_expensive_documents_are_refused(herald, tokens):
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(25))
    body = await herald.graphql(f"{{ {aliases} }}", token=tokens["staff"])
    assert "aliases" in body["errors"][0]["message"]
    deep = "{ requests { edges { node { history { request { history { request { history { request { number } } } } } } } } } }"
    body = await herald.graphql(deep, token=tokens["staff"])
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_a_subscription_over_http_says_it_needs_a_websocket(herald, tokens):
    body = await herald.graphql("subscription { requestEvents { version } }", token=tokens["staff"])
    assert body["errors"][0]["message"] == "subscriptions need a WebSocket: connect to /graphql with graphql-transport-ws"
