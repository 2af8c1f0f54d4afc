"""`herald serve` and `herald token create` as real processes: the embedded database, the
CLI reaching a running server's database, data surviving a restart, and two servers
sharing one database."""

import asyncio
import os
import signal
import stat
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from db.embedded import ADDRESS_FILE, free_port

ROOT = Path(__file__).resolve().parents[2]


def herald_env(data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI" and not k.startswith("HERALD_")}
    return env | {"HERALD_DATA_DIR": str(data_dir)} | extra


def herald(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@asynccontextmanager
async def serving(env: dict, log: Path, *options: str):
    """A `herald serve` process, ready; stopped with SIGTERM on exit."""
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), *options], env=env,
                                   cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            await until_ready(http, process, log)
            yield base, http
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()


async def until_ready(http: httpx.AsyncClient, process: subprocess.Popen, log: Path) -> None:
    """Waits for /readyz to answer 200, failing at once if the server process died."""
    for _ in range(600):
        assert process.poll() is None, log.read_text()
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready in 60 s:\n{log.read_text()}")


async def ask(http: httpx.AsyncClient, token: str, query: str, variables: dict | None = None) -> dict:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


CREATE = """mutation { createRequest(input: {title: "Repair", client: {name: "Oleg", phone: "89123456780"}}) {
  ... on CreateRequestSuccess { request { id number } } } }"""
READ = "query One($id: ID!) { request(id: $id) { number title } }"


async def test_embedded_database_cli_and_restart(tmp_path):
    data_dir = tmp_path / "data"
    env = herald_env(data_dir)
    log = tmp_path / "serve.log"

    async with serving(env, log) as (_, http):
        admin_file = data_dir / "admin.token"
        assert stat.S_IMODE(admin_file.stat().st_mode) == 0o600
        admin_token = admin_file.read_text().strip()
        assert str(admin_file) in log.read_text() and admin_token not in log.read_text()

        made = herald("token", "create", "--role", "staff", "--name", "Olga", env=env)
        assert made.returncode == 0, made.stderr
        staff_token = made.stdout.strip().splitlines()[-1]
        assert staff_token.startswith("hrl_") and len(staff_token) > 40
        assert (await ask(http, staff_token, "{ viewer { role name } }"))["viewer"] == {"role": "staff", "name": "Olga"}
        created = (await ask(http, staff_token, CREATE))["createRequest"]["request"]
        assert (await ask(http, admin_token, "{ viewer { role } }"))["viewer"]["role"] == "admin"

    assert not (data_dir / ADDRESS_FILE).exists(), "the embedded database was not stopped"

    # No server runs: the CLI starts the embedded database itself, on the same data.
    offline = herald("token", "create", "--role", "integration", "--name", "Website form", env=env)
    assert offline.returncode == 0, offline.stderr
    integration_token = offline.stdout.strip().splitlines()[-1]

    async with serving(env, log) as (_, http):
        assert (await ask(http, staff_token, READ, {"id": created["id"]}))["request"] == {
            "number": created["number"], "title": "Repair"}
        assert (await ask(http, integration_token, "{ viewer { role } }"))["viewer"]["role"] == "integration"
        assert admin_file.read_text().strip() == admin_token  # created once, on the empty database

        listed = herald("token", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        olga = next(line for line in listed.stdout.splitlines() if line.endswith("Olga"))
        assert " staff " in olga and " active " in olga and staff_token not in listed.stdout
        revoked = herald("token", "revoke", olga.split()[0], env=env)
        assert revoked.returncode == 0, revoked.stderr
        response = await http.post("/graphql", json={"query": "{ viewer { role } }"},
                                   headers={"Authorization": f"Bearer {staff_token}"})
        assert response.status_code == 401
        assert herald("token", "revoke", "ffffffffffff", env=env).returncode == 1


async def test_token_create_refuses_an_unknown_role(tmp_path):
    result = herald("token", "create", "--role", "root", "--name", "x", env=herald_env(tmp_path))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


async def test_two_servers_on_one_database_share_events(tmp_path, mongodb_uri):
    env = herald_env(tmp_path / "data", MONGODB_URI=mongodb_uri, HERALD_DB_NAME=f"herald_two_{uuid.uuid4().hex[:8]}")
    async with serving(env, tmp_path / "a.log") as (base_a, http_a), serving(env, tmp_path / "b.log") as (_, http_b):
        admin = (tmp_path / "data" / "admin.token").read_text().strip()
        created = (await ask(http_b, admin, CREATE))["createRequest"]["request"]
        transport = WebsocketsTransport(url=base_a.replace("http", "ws") + "/graphql",
                                        init_payload={"Authorization": f"Bearer {admin}"},
                                        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        async with Client(transport=transport) as session:
            watch = GraphQLRequest("subscription W($id: ID!) { requestUpdated(id: $id) { version to { key } } }",
                                   variable_values={"id": created["id"]})

            async def first_event():
                async for event in session.subscribe(watch):
                    return event

            listener = asyncio.create_task(first_event())
            await asyncio.sleep(0.5)
            moved = await ask(http_b, admin, """mutation M($id: ID!) { transitionRequest(input: {id: $id, to: "in_progress"}) {
                __typename } }""", {"id": created["id"]})
            assert moved["transitionRequest"]["__typename"] == "TransitionRequestSuccess"
            event = await asyncio.wait_for(listener, 10)
    assert event == {"requestUpdated": {"version": 2, "to": {"key": "in_progress"}}}


async def test_a_second_server_refuses_to_share_an_embedded_database(tmp_path):
    env = herald_env(tmp_path / "data")
    async with serving(env, tmp_path / "a.log"):
        second = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", str(free_port())], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "another Herald server" in second.stderr and "HERALD_DATA_DIR" in second.stderr


async def test_the_cli_waits_for_a_server_that_is_starting(tmp_path):
    env = herald_env(tmp_path / "data")
    log = tmp_path / "serve.log"
    port = free_port()
    with open(log, "ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        await asyncio.sleep(0.5)  # the server is starting its database right now
        made = herald("token", "create", "--role", "staff", "--name", "Early bird", env=env)
        assert made.returncode == 0, made.stderr
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            await until_ready(http, server, log)
            token = made.stdout.strip().splitlines()[-1]
            viewer = await ask(http, token, "{ viewer { name } }")
        assert viewer == {"viewer": {"name": "Early bird"}}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


async def test_several_workers_share_the_port_and_every_event(tmp_path):
    env = herald_env(tmp_path / "data")
    port = free_port()
    log = tmp_path / "workers.log"
    with open(log, "ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
                                  env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            await until_ready(http, server, log)
            admin = (tmp_path / "data" / "admin.token").read_text().strip()
            created = (await ask(http, admin, CREATE))["createRequest"]["request"]
            # Several subscribers: the kernel spreads their connections over both workers.
            transports = [WebsocketsTransport(url=f"ws://127.0.0.1:{port}/graphql",
                                              init_payload={"Authorization": f"Bearer {admin}"},
                                              subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
                          for _ in range(6)]
            watch = GraphQLRequest("subscription W($id: ID!) { requestUpdated(id: $id) { version } }",
                                   variable_values={"id": created["id"]})

            async def first_event(transport):
                async with Client(transport=transport) as session:
                    async for event in session.subscribe(watch):
                        return event

            listeners = [asyncio.create_task(first_event(t)) for t in transports]
            await asyncio.sleep(1)
            await ask(http, admin, 'mutation M($id: ID!) { transitionRequest(input: {id: $id, to: "in_progress"}) '
                                   '{ __typename } }', {"id": created["id"]})
            events = await asyncio.wait_for(asyncio.gather(*listeners), 15)
        assert events == [{"requestUpdated": {"version": 2}}] * 6
        pids = {line.split("[")[1].split("]")[0] for line in log.read_text().splitlines() if "Started server process" in line}
        assert len(pids) == 2
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert not (tmp_path / "data" / ADDRESS_FILE).exists()


async def test_sigterm_closes_websockets_with_1001_and_exits_0(tmp_path):
    import json

    import websockets

    env = herald_env(tmp_path / "data")
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            await until_ready(http, server, log)
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            await socket.recv()
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(socket.recv(), 10)
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code
        assert code == 1001
        assert server.wait(timeout=30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
