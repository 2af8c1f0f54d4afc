"""The graphql-transport-ws handshake on a raw WebSocket: auth and close codes."""

import asyncio
import json

import pytest
import websockets

from db.tokens import create_token, hash_token, revoke_token
from tests.conftest import create_request, transition

PROTOCOL = "graphql-transport-ws"


async def connect(herald):
    return await websockets.connect(herald.ws_url, subprotocols=[PROTOCOL])


async def close_code(socket) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 10)
    return closed.value.rcvd.code


async def test_a_bad_token_closes_with_4403(herald):
    async with await connect(herald) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
        assert await close_code(socket) == 4403


@pytest.mark.parametrize("key", ["Authorization", "authorization", "AUTHORIZATION"])
async def test_the_token_key_is_case_insensitive(herald, tokens, key):
    async with await connect(herald) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {key: f"Bearer {tokens['staff']}"}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack == {"type": "connection_ack", "payload": {"role": "staff"}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert reply == {"id": "1", "type": "next", "payload": {"data": {"viewer": {"role": "staff"}}}}


async def test_subscribe_before_ack_closes_with_4401(herald):
    async with await connect(herald) as socket:
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}}))
        assert await close_code(socket) == 4401


async def test_no_connection_init_closes_with_4408(herald):
    async with await connect(herald) as socket:  # the fixture's timeout is 2 s
        assert await close_code(socket) == 4408


async def test_ping_gets_pong(herald, tokens):
    async with await connect(herald) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        await socket.recv()
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "pong"}


async def acked(herald, token: str | None):
    socket = await connect(herald)
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    return socket


WATCH = "subscription W($id: ID!) { requestUpdated(id: $id) { version } }"


def subscribe(operation_id: str, request_id: str) -> str:
    return json.dumps({"id": operation_id, "type": "subscribe",
                       "payload": {"query": WATCH, "variables": {"id": request_id}}})


async def test_a_second_init_closes_with_4429(herald):
    socket = await acked(herald, None)
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert await close_code(socket) == 4429


async def test_a_reused_active_id_closes_with_4409(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    socket = await acked(herald, tokens["staff"])
    await socket.send(subscribe("same", request_id))
    await socket.send(subscribe("same", request_id))
    assert await close_code(socket) == 4409


async def test_a_refused_subscription_completed_by_the_client_leaves_the_socket_usable(herald, tokens):
    created = await create_request(herald, tokens["integration"])
    async with await acked(herald, created["clientAccessToken"]) as socket:
        await socket.send(subscribe("1", "6b1197e5e29327196f1fee8a"))
        refused = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert refused["type"] == "next" and refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert json.loads(await socket.recv()) == {"id": "1", "type": "complete"}
        await socket.send(json.dumps({"id": "1", "type": "complete"}))  # the client completes it too
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["payload"] == {"data": {"viewer": {"role": "client"}}}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"ws_max_subscriptions": 3, "ws_token_check_s": 0.3})


async def test_completed_subscriptions_do_not_count_toward_the_limit(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    async with await acked(herald, tokens["staff"]) as socket:
        for n in range(6):
            await socket.send(subscribe(f"old{n}", request_id))
            await socket.send(json.dumps({"id": f"old{n}", "type": "complete"}))
        for n in range(4):
            await socket.send(subscribe(f"live{n}", request_id))
        refused = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert refused == {"id": "live3", "type": "error",
                           "payload": [{"message": "at most 3 operations at once on one connection"}]}
        await transition(herald, tokens["staff"], request_id, "in_progress")
        received = {json.loads(await asyncio.wait_for(socket.recv(), 10))["id"] for _ in range(3)}
        assert received == {"live0", "live1", "live2"}


async def test_a_revoked_token_closes_its_open_sockets_with_4403(herald, tokens, db):
    staff = await create_token(db, role="staff", name="Leaving")
    socket = await acked(herald, staff)
    keeper = await acked(herald, tokens["staff"])
    await revoke_token(db, token_id=hash_token(staff)[:12])
    assert await close_code(socket) == 4403
    await keeper.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(keeper.recv(), 10)) == {"type": "pong"}
    await keeper.close()
