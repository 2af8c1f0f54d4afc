"""SIGTERM to `herald serve`: it stops accepting, lets a notification send in flight finish
within HERALD_SHUTDOWN_GRACE_S, and exits 0. (WebSockets closing with 1001: test_processes.)"""

import asyncio
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from db.embedded import free_port
from tests.api.notifications.conftest import receiver  # noqa: F401  (a fixture: the SMS gateway)
from tests.api.test_processes import ROOT, ask, herald_env

CREATE = """mutation { createRequest(input: {title: "Repair", client: {name: "Oleg", phone: "+79123456780"}}) {
  ... on CreateRequestSuccess { request { id } } } }"""


async def start(env: dict, log) -> tuple[subprocess.Popen, httpx.AsyncClient]:
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
                                   cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5)
    for _ in range(600):
        assert process.poll() is None, log.read_text()
        try:
            if (await http.get("/readyz")).status_code == 200:
                return process, http
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("herald serve did not become ready")


async def refuses_connections(http: httpx.AsyncClient) -> bool:
    try:
        await http.get("/healthz")
    except httpx.ConnectError:
        return True
    return False


async def exit_code(process: subprocess.Popen, timeout: float) -> int:
    return await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)


@pytest.fixture
def env(tmp_path, mongodb_uri, receiver):  # noqa: F811
    return herald_env(tmp_path / "data", MONGODB_URI=mongodb_uri, SMS_GATEWAY_URL=receiver.url,
                      HERALD_DB_NAME=f"herald_stop_{uuid.uuid4().hex[:8]}", HERALD_SHUTDOWN_GRACE_S="5")


async def send_one_sms_and_stop(env: dict, tmp_path, receiver) -> tuple[subprocess.Popen, float]:  # noqa: F811
    """Serves, queues one SMS, and sends SIGTERM while the gateway holds it; returns the process and when."""
    process, http = await start(env, tmp_path / "serve.log")
    try:
        admin = (tmp_path / "data" / "admin.token").read_text().strip()
        await ask(http, admin, CREATE)
        await receiver.wait_for(1)  # the gateway has the message and takes its time answering
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        await asyncio.sleep(0.5)
        assert await refuses_connections(http), "still accepting after SIGTERM"
    finally:
        await http.aclose()
    return process, stopped_at


async def test_sigterm_lets_a_send_in_flight_finish_then_exits_0(env, tmp_path, receiver, mongo):  # noqa: F811
    receiver.delay_s = 2.0
    process, stopped_at = await send_one_sms_and_stop(env, tmp_path, receiver)
    assert await exit_code(process, 20) == 0, (tmp_path / "serve.log").read_text()
    assert time.monotonic() - stopped_at >= 1.0  # it waited for the gateway's answer
    [job] = await mongo[env["HERALD_DB_NAME"]].notifications.find({"channel": "SMS"}).to_list()
    assert job["state"] == "SENT" and job["attempts"] == 1
    await mongo.drop_database(env["HERALD_DB_NAME"])


async def test_a_send_longer_than_the_grace_is_left_to_its_lease(env, tmp_path, receiver, mongo):  # noqa: F811
    receiver.delay_s = 6.0  # longer than the grace; not much longer, or the gateway keeps the test waiting
    process, stopped_at = await send_one_sms_and_stop(env | {"HERALD_SHUTDOWN_GRACE_S": "1"}, tmp_path, receiver)
    assert await exit_code(process, 15) == 0, (tmp_path / "serve.log").read_text()
    assert time.monotonic() - stopped_at < 5
    [job] = await mongo[env["HERALD_DB_NAME"]].notifications.find({"channel": "SMS"}).to_list()
    # Not lost: still claimed, and sent again by whichever dispatcher finds its lease run out.
    assert job["state"] == "SENDING" and job["due_at"] is not None
    await mongo.drop_database(env["HERALD_DB_NAME"])
