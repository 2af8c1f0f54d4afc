"""Properties, checked on generated cases through the real HTTP endpoint (hypothesis).

- Whatever createRequest is sent, the answer is a request, a ValidationError or a GraphQL
  error naming the problem: never a 500, never "Unexpected error.", and what is stored is
  always a valid request.
- Whatever sequence of transitions staff send, one by one or several at once, the history
  is one a model of the default workflow accepts, with versions 1, 2, 3... and no gap.

Hypothesis drives a synchronous test; it runs in a thread and hands each call to the event
loop where Herald serves.
"""

import asyncio
import json
import re
import unicodedata

import hypothesis
import pytest
from bson import ObjectId
from email_validator import validate_email
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from schema.validation import DESCRIPTION_MAX, NAME_MAX, SERVICE_MAX, TITLE_MAX
from tests.conftest import create_request

# Modest counts keep the suite fast; no example database: nothing left behind in the work tree.
EXAMPLES = hypothesis.settings(max_examples=60, deadline=None, database=None,
                               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

CREATE = """mutation Create($input: CreateRequestInput!) { createRequest(input: $input) { __typename
  ... on CreateRequestSuccess { request { id number title description service version status { key }
    client { name email phone locale channels } } }
  ... on ValidationError { message fields { field message } } } }"""

# The default workflow as DESIGN.md and the README describe it: the model histories must fit.
DEFAULT_MOVES = {("received", "in_progress"), ("in_progress", "completing"), ("completing", "closed"),
                 ("completing", "in_progress"), ("received", "closed"), ("closed", "in_progress")}
STATUSES = ("received", "in_progress", "completing", "closed")


@pytest.fixture
def settings(settings):
    """No dispatcher: its random backoff would draw on the random module hypothesis watches."""
    return settings.model_copy(update={"dispatcher": False})


def on_loop(loop: asyncio.AbstractEventLoop, coroutine, timeout: float = 60):
    """Runs a coroutine on Herald's event loop from the hypothesis thread."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)


# Inputs: each field mostly plausible, now and then meant to trip validation; separately,
# inputs with a field of the wrong JSON type, or no object at all.
TRICKY = st.sampled_from([
    "", " ", "\u200b", "\u3164", "\u202egpj.exe", "line\nbreak", "tab\there", "nul\x00", "bell\x07", "\ud800",
    "  padded  ", "x" * 201, "é" * 20_001, "<script>alert(1)</script>", "Robert'); DROP TABLE requests;--",
    "😀" * 5, "\u0301", "REQ-000001", "{}", "null",
])
ODD_TEXT = st.one_of(TRICKY, st.text(max_size=60),
                     st.text(st.characters(categories=["Cs", "Cc", "Cf", "Zl", "Zp", "Mn"]), max_size=5))
WORDS = st.from_regex(r"[A-Za-zА-Яа-яЁё0-9][A-Za-zА-Яа-яЁё0-9 ,.!?'()«»-]{0,60}", fullmatch=True)
PHONE = st.from_regex(r"\+?[78]? ?\(?9\d\d\)? ?\d{3}-?\d\d-?\d\d", fullmatch=True)
WRONG_TYPE = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                       st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=1))


def mostly(usual: st.SearchStrategy, unusual: st.SearchStrategy, percent: int = 80) -> st.SearchStrategy:
    return st.integers(0, 99).flatmap(lambda n: usual if n < percent else unusual)


ODD_EMAIL = st.one_of(st.none(), ODD_TEXT, st.sampled_from(
    ["ANNA@Example.RU ", "a@b", "@example.com", "анна@пример.рф", "a..b@example.com", "a@example.com\n"]))
ODD_PHONE = st.one_of(ODD_TEXT, st.sampled_from(["+1 202 555 0143", "12345", "+7 912 ABC", "8800"]))
CLIENT = st.fixed_dictionaries({"name": mostly(WORDS, ODD_TEXT), "email": mostly(st.emails(), ODD_EMAIL)}, optional={
    "phone": mostly(st.one_of(PHONE, st.none()), ODD_PHONE),
    "locale": mostly(st.sampled_from(["ru", "en", "EN", "en-US", "ru_RU"]), st.one_of(st.none(), ODD_TEXT)),
    "channels": mostly(st.none(), st.lists(st.sampled_from(["EMAIL", "SMS", "WEBHOOK"]), max_size=3), 70)})
WELL_TYPED = st.fixed_dictionaries({"title": mostly(WORDS, ODD_TEXT), "client": CLIENT}, optional={
    "description": mostly(st.one_of(WORDS, st.none()), ODD_TEXT),
    "service": mostly(st.one_of(WORDS, st.none()), ODD_TEXT),
    "workflow": mostly(st.sampled_from(["default", None]), st.sampled_from(["nope", "", " default "])),
    "idempotencyKey": mostly(st.none(), st.sampled_from(["k1", "k2", " ", ""]), 70)})


def one_field_spoiled(value: dict) -> st.SearchStrategy:
    """The input with one field, at the top or in client, of a type GraphQL refuses."""
    paths = [(key,) for key in value] + [("client", key) for key in value["client"]] + [("unknownField",)]

    def spoil(path: tuple, wrong) -> dict:
        spoiled = {**value, "client": dict(value["client"])}
        (spoiled if len(path) == 1 else spoiled["client"])[path[-1]] = wrong
        return spoiled

    return st.tuples(st.sampled_from(paths), st.one_of(WRONG_TYPE, st.just("PIGEON"))).map(lambda p: spoil(*p))


ILL_TYPED = st.one_of(WELL_TYPED.flatmap(one_field_spoiled), WRONG_TYPE)


def assert_clean_text(value: str, *, limit: int, multiline: bool = False) -> None:
    assert 0 < len(value) <= limit and value == value.strip() and value.strip("\u200b\ufeff") == value
    assert not any(unicodedata.category(ch) in ("Cs",) or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068"
                   "\u2069" for ch in value)
    allowed = "\n\r\t" if multiline else "\t"
    assert not any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)
    if not multiline:
        assert not any(ch in "\n\r\u2028\u2029\x85\x0b\x0c" for ch in value)


def assert_valid_request(doc: dict) -> None:
    """What every stored request must be, however it was asked for."""
    assert re.fullmatch(r"REQ-\d{6,}", doc["number"])
    assert doc["version"] >= 1 and doc["workflow"] == "default" and doc["status"] in STATUSES
    assert_clean_text(doc["title"], limit=TITLE_MAX)
    if doc["description"] is not None:
        assert_clean_text(doc["description"], limit=DESCRIPTION_MAX, multiline=True)
    if doc["service"] is not None:
        assert_clean_text(doc["service"], limit=SERVICE_MAX)
    client = doc["client"]
    assert_clean_text(client["name"], limit=NAME_MAX)
    assert client["email"] or client["phone"]
    if client["email"]:
        assert validate_email(client["email"], check_deliverability=False).normalized == client["email"]
    if client["phone"]:
        assert re.fullmatch(r"\+[1-9]\d{6,14}", client["phone"])
    assert client["locale"] in ("ru", "en")
    contact = {"EMAIL": client["email"], "SMS": client["phone"]}
    assert all(channel in contact and contact[channel] for channel in client["channels"])


def assert_clear_answer(response) -> dict:
    assert response.status_code < 500, response.text
    body = response.json()
    messages = [error["message"] for error in body.get("errors") or ()]
    assert "Unexpected error." not in messages, body
    assert all(message.strip() for message in messages)
    return body


async def test_any_create_request_input_gets_a_clear_answer_and_stores_only_valid_requests(herald, tokens, db):
    loop = asyncio.get_running_loop()

    async def send(variables) -> tuple[dict, int]:
        before = await db.requests.count_documents({})
        response = await herald.http.post("/graphql", content=json.dumps({"query": CREATE, "variables": variables}),
                                          headers={"Authorization": f"Bearer {tokens['integration']}",
                                                   "Content-Type": "application/json"})
        return assert_clear_answer(response), before

    def check(input_value):
        body, before = on_loop(loop, send({"input": input_value}))
        result = (body.get("data") or {}).get("createRequest")
        if result and result["__typename"] == "CreateRequestSuccess":
            stored = on_loop(loop, db.requests.find_one({"_id": ObjectId(result["request"]["id"])}))
            assert_valid_request(stored)
            shown = result["request"]
            assert (shown["title"], shown["version"], shown["status"]["key"]) == (stored["title"], 1, "received")
            assert shown["client"]["email"] == stored["client"]["email"]
        else:
            if result:
                assert result["__typename"] == "ValidationError" and result["fields"]
                assert all(f["field"] and f["message"] for f in result["fields"])
            else:
                assert body["errors"], body
            assert on_loop(loop, db.requests.count_documents({})) == before

    await asyncio.to_thread(EXAMPLES(given(WELL_TYPED)(check)))
    await asyncio.to_thread(hypothesis.settings(EXAMPLES, max_examples=20)(given(ILL_TYPED)(check)))
    for doc in await db.requests.find().to_list():
        assert_valid_request(doc)


TRANSITION = """mutation Move($input: TransitionRequestInput!) { transitionRequest(input: $input) { __typename
  ... on TransitionRequestSuccess { request { version status { key } } } } }"""
HISTORY = """query H($id: ID!) { request(id: $id) { version status { key }
  history { version type from { key } to { key } } } }"""
# A step: one or more moves sent at once; each maybe with the version the caller believes current.
MOVE = st.tuples(st.sampled_from(STATUSES + ("cancelled",)), st.one_of(st.none(), st.integers(1, 12)))
STEPS = st.lists(st.lists(MOVE, min_size=1, max_size=3), min_size=1, max_size=6)


def model_accepts(history: list[dict]) -> bool:
    """Whether the default workflow could have produced this history."""
    if not history or history[0]["type"] != "CREATED" or history[0]["to"]["key"] != "received":
        return False
    status = "received"
    for event in history[1:]:
        if event["type"] != "STATUS_CHANGED" or event["from"]["key"] != status:
            return False
        if (status, event["to"]["key"]) not in DEFAULT_MOVES:
            return False
        status = event["to"]["key"]
    return True


def expected_answer(status: str, version: int, to: str, expected_version: int | None) -> str:
    """What one move alone must get: the model's verdict."""
    if expected_version is not None and expected_version != version:
        return "VersionConflict"
    return "TransitionRequestSuccess" if (status, to) in DEFAULT_MOVES else "InvalidTransition"


async def test_any_sequence_of_transitions_leaves_a_history_the_workflow_accepts(herald, tokens):
    loop = asyncio.get_running_loop()

    async def move(request_id: str, to: str, expected_version: int | None) -> str:
        data = await herald.data(TRANSITION, {"input": {"id": request_id, "to": to,
                                                        "expectedVersion": expected_version}}, tokens["staff"])
        return data["transitionRequest"]["__typename"]

    async def run(steps) -> tuple[list, dict]:
        request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
        status, version, answers = "received", 1, []
        for step in steps:
            got = await asyncio.gather(*(move(request_id, to, expected) for to, expected in step))
            if len(step) == 1:  # alone, a move's outcome is fully determined by the model
                assert got[0] == expected_answer(status, version, *step[0]), (status, version, step[0])
            answers += got
            now = (await herald.data(HISTORY, {"id": request_id}, tokens["staff"]))["request"]
            status, version = now["status"]["key"], now["version"]
        return answers, (await herald.data(HISTORY, {"id": request_id}, tokens["staff"]))["request"]

    @hypothesis.settings(EXAMPLES, max_examples=30)
    @given(STEPS)
    def check(steps):
        answers, request = on_loop(loop, run(steps))
        assert set(answers) <= {"TransitionRequestSuccess", "InvalidTransition", "VersionConflict"}
        history = request["history"]
        assert [event["version"] for event in history] == list(range(1, request["version"] + 1))
        assert answers.count("TransitionRequestSuccess") == request["version"] - 1
        assert model_accepts(history), history
        assert history[-1]["to"]["key"] == request["status"]["key"]

    await asyncio.to_thread(check)
