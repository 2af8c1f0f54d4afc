"""The graphql-transport-ws handshake on a raw WebSocket: auth and close codes."""

import asyncio
import json

import pytest
import websockets

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
