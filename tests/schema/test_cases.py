"""Every createRequest input of shared/cases through the real HTTP endpoint."""

import json
from pathlib import Path

import pytest

from tests.conftest import CREATE, SHARED

# The shared cases when the checkout sits beside shared/, else the copy kept with the tests.
CASES_FILE = SHARED / "cases" / "requests.jsonl"
if not CASES_FILE.exists():
    CASES_FILE = Path(__file__).parent / "cases" / "requests.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]

READ_BACK = """
query One($id: ID!) { request(id: $id) { title client { email phone } history { type version } } }
"""


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_create_request_case(herald, tokens, db, case):
    body = await herald.graphql(CREATE, {"input": case["input"]}, tokens["integration"])
    assert "errors" not in body, body
    result = body["data"]["createRequest"]
    expect = case["expect"]
    if expect["ok"]:
        assert result["__typename"] == "CreateRequestSuccess", result
        stored = (await herald.data(READ_BACK, {"id": result["request"]["id"]}, tokens["staff"]))["request"]
        assert stored["title"] == expect["title"]
        assert stored["history"] == [{"type": "CREATED", "version": 1}]
        for key in ("email", "phone"):
            if key in expect:
                assert stored["client"][key] == expect[key]
    else:
        assert result["__typename"] == "ValidationError", result
        assert expect["field"] in [f["field"] for f in result["fields"]], result
        assert await db.requests.count_documents({}) == 0
        assert await db.request_events.count_documents({}) == 0


def test_the_kept_copy_matches_the_shared_cases():
    kept = Path(__file__).parent / "cases" / "requests.jsonl"
    if not (SHARED / "cases" / "requests.jsonl").exists():
        pytest.skip("shared/ is not beside this checkout")
    assert kept.read_text() == (SHARED / "cases" / "requests.jsonl").read_text(), "copy shared/cases again"
