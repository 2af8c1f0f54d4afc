"""Feedback: once per closure, again after a reopen, and the figures staff read."""

from datetime import UTC, datetime, timedelta

from tests.conftest import create_request, transition

RATE = """mutation R($input: LeaveFeedbackInput!) { leaveFeedback(input: $input) { __typename
  ... on LeaveFeedbackSuccess { request { version feedback { rating } } } } }"""
STATS = """query S($from: DateTime, $to: DateTime, $workflow: String) {
  feedbackStats(from: $from, to: $to, workflow: $workflow) {
    count average closed responseRate distribution { rating count } } }"""


async def rate(herald, created, rating):
    data = await herald.data(RATE, {"input": {"id": created["request"]["id"], "rating": rating}},
                             created["clientAccessToken"])
    return data["leaveFeedback"]["__typename"]


async def test_feedback_again_after_a_reopen_and_close(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    request_id = created["request"]["id"]
    await transition(herald, tokens["staff"], request_id, "closed")
    assert await rate(herald, created, 3) == "LeaveFeedbackSuccess"
    assert await rate(herald, created, 4) == "FeedbackNotAllowed"
    await transition(herald, tokens["staff"], request_id, "in_progress")  # reopened
    assert await rate(herald, created, 4) == "FeedbackNotAllowed"  # not closed now
    await transition(herald, tokens["staff"], request_id, "completing")
    await transition(herald, tokens["staff"], request_id, "closed")
    assert await rate(herald, created, 5) == "LeaveFeedbackSuccess"
    assert await rate(herald, created, 5) == "FeedbackNotAllowed"


async def test_feedback_stats_match_hand_computed_figures(herald, tokens):
    requests = [await create_request(herald, tokens["integration"], title=f"Site {i}") for i in range(5)]
    for created in requests:
        await transition(herald, tokens["staff"], created["request"]["id"], "closed")
    # Five closures; four ratings: 5, 4, 4, 1. One request is reopened and closed again: six closures.
    for created, rating in zip(requests, (5, 4, 4, 1)):
        assert await rate(herald, created, rating) == "LeaveFeedbackSuccess"
    reopened = requests[4]["request"]["id"]
    await transition(herald, tokens["staff"], reopened, "in_progress")
    await transition(herald, tokens["staff"], reopened, "completing")
    await transition(herald, tokens["staff"], reopened, "closed")

    stats = (await herald.data(STATS, token=tokens["staff"]))["feedbackStats"]
    assert stats == {"count": 4, "average": 3.5, "closed": 6, "responseRate": 4 / 6,
                     "distribution": [{"rating": 1, "count": 1}, {"rating": 2, "count": 0}, {"rating": 3, "count": 0},
                                      {"rating": 4, "count": 2}, {"rating": 5, "count": 1}]}

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = (await herald.data(STATS, {"from": future}, tokens["staff"]))["feedbackStats"]
    assert (empty["count"], empty["average"], empty["closed"], empty["responseRate"]) == (0, None, 0, None)
    other = (await herald.data(STATS, {"workflow": "nothing"}, tokens["staff"]))["feedbackStats"]
    assert other["closed"] == 0
    body = await herald.graphql(STATS, token=tokens["integration"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
