"""Concurrent changes to one request: the version check lets exactly one through."""

import asyncio

from tests.conftest import create_request, transition

VERSIONS = "query One($id: ID!) { request(id: $id) { version history { version } } }"


async def test_twenty_concurrent_transitions_with_one_expected_version(herald, tokens, db):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    results = await asyncio.gather(*(
        transition(herald, tokens["staff"], request_id, "in_progress", expectedVersion=1, comment=f"try {i}")
        for i in range(20)
    ))
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["TransitionRequestSuccess"] + ["VersionConflict"] * 19
    assert all(r["actualVersion"] == 2 for r in results if r["__typename"] == "VersionConflict")
    read = (await herald.data(VERSIONS, {"id": request_id}, tokens["staff"]))["request"]
    assert read["version"] == 2
    assert [e["version"] for e in read["history"]] == [1, 2]


async def test_concurrent_transitions_without_a_version_are_checked_against_the_latest_state(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    results = await asyncio.gather(*(transition(herald, tokens["staff"], request_id, "in_progress") for _ in range(10)))
    kinds = sorted(r["__typename"] for r in results)
    # once one has moved it, in_progress -> in_progress is not a transition of the workflow
    assert kinds == ["InvalidTransition"] * 9 + ["TransitionRequestSuccess"]


async def test_concurrent_moves_along_the_workflow_leave_contiguous_history(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    await transition(herald, tokens["staff"], request_id, "in_progress")

    async def flip(to):
        return await transition(herald, tokens["staff"], request_id, to)

    for _ in range(5):
        await asyncio.gather(flip("completing"), flip("in_progress"), flip("completing"))
    read = (await herald.data(VERSIONS, {"id": request_id}, tokens["staff"]))["request"]
    assert [e["version"] for e in read["history"]] == list(range(1, read["version"] + 1))
