"""Dispatchers racing on one outbox, and one killed mid-batch: nothing sent twice by the race,
nothing lost by the crash."""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from api.notifications.dispatcher import Dispatcher
from api.notifications.links import make_links
from db.requests import Actor, ClientInfo, NewRequest, create_request
from tests.api.notifications.conftest import FAST

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(settings, receiver):
    """No dispatcher inside the server: the tests run their own."""
    return settings.model_copy(update=FAST | {"dispatcher": False, "sms_gateway_url": receiver.url})


async def queue_sms(db, count: int) -> None:
    """count requests for SMS-only clients: one job each."""
    actor = Actor(role="staff", name="Loader", token_id="loader")
    for i in range(count):
        client = ClientInfo(name=f"Client {i}", email=None, phone=f"+7912{i:07d}", locale="ru", channels=("SMS",))
        await create_request(db, new=NewRequest(title=f"Job {i}", description=None, service=None, workflow="default",
                                                client=client), actor=actor)


async def all_sent(db, count: int, timeout: float = 60) -> None:
    async def done():
        while await db.notifications.count_documents({"state": "SENT"}) < count:
            await asyncio.sleep(0.1)
    await asyncio.wait_for(done(), timeout)


async def test_two_dispatchers_send_each_of_200_jobs_once(herald, db, receiver):
    await queue_sms(db, 200)
    links = await make_links(db, secret_key=None, public_url=herald.settings.public_url)
    dispatchers = [Dispatcher(db, herald.settings, links=links) for _ in range(2)]
    for dispatcher in dispatchers:
        await dispatcher.start()
    try:
        await all_sent(db, 200)
    finally:
        for dispatcher in dispatchers:
            await dispatcher.stop()
    ids = Counter(r.json["id"] for r in receiver.received)
    assert len(ids) == 200 and set(ids.values()) == {1}
    claimed_by = Counter(job["claimed_by"] for job in await db.notifications.find().to_list())
    assert len(claimed_by) == 2, "both dispatchers should have taken part"


async def test_a_worker_killed_mid_batch_loses_nothing(herald, db, receiver, mongodb_uri, tmp_path):
    await queue_sms(db, 40)
    receiver.delay_s = 0.5  # the gateway has each SMS before the worker hears back: the kill lands mid-send
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")} | {
        "MONGODB_URI": mongodb_uri, "HERALD_DB_NAME": herald.settings.db_name, "HERALD_DATA_DIR": str(tmp_path),
        "SMS_GATEWAY_URL": receiver.url, "HERALD_NOTIFY_LEASE_S": "2", "HERALD_NOTIFY_POLL_S": "0.1",
        "HERALD_NOTIFY_CONCURRENCY": "8"}
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
    await receiver.wait_for(12, timeout=30)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    sent_before = await db.notifications.count_documents({"state": "SENT"})
    assert sent_before < 40, "the worker finished before it was killed"

    receiver.delay_s = 0
    links = await make_links(db, secret_key=None, public_url=herald.settings.public_url)
    restarted = Dispatcher(db, herald.settings.model_copy(update={"notify_lease_s": 2}), links=links)
    await restarted.start()
    try:
        await all_sent(db, 40)
    finally:
        await restarted.stop()

    jobs = {str(job["_id"]) for job in await db.notifications.find().to_list()}
    arrivals = Counter(r.json["id"] for r in receiver.received)
    assert set(arrivals) == jobs  # every job arrived, and nothing arrived that is not a job
    duplicates = [i for i, n in arrivals.items() if n > 1]
    assert duplicates, "the kill should have cut some sends short"
    for message_id in duplicates:  # a duplicate carries the same id on every copy, header and body
        copies = [r for r in receiver.received if r.json["id"] == message_id]
        assert {r.headers["idempotency-key"] for r in copies} == {message_id}
