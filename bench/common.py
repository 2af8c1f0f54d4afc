"""What the benchmarks share: a database, servers as separate processes, subscribers in
load-generator processes, and percentiles. Everything runs on 127.0.0.1 and stops by itself."""

import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient
from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.http11 import Response
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.client import ensure_indexes  # noqa: E402
from db.embedded import EmbeddedDatabase, free_port  # noqa: E402
from db.requests import Actor, ClientInfo, NewRequest, create_request, transition_request  # noqa: E402
from db.tokens import create_token  # noqa: E402
from db.workflows import ensure_default_workflow  # noqa: E402

SELECTION = "version type at to { key label } request { number version status { label } }"
# Herald replays from sinceVersion: a warm-up event then tells the bench every subscription is live.
HERALD_SUBSCRIPTION = f"subscription W($id: ID!, $since: Int) {{ requestUpdated(id: $id, sinceVersion: $since) {{ {SELECTION} }} }}"
TEXTBOOK_SUBSCRIPTION = f"subscription W($id: ID!) {{ requestUpdated(id: $id) {{ {SELECTION} }} }}"


@contextlib.contextmanager
def database():
    """MONGODB_URI when set, else a SecantusDB of the benchmark's own."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    with tempfile.TemporaryDirectory() as folder:
        embedded = EmbeddedDatabase(Path(folder), owner="bench")
        embedded.start()
        try:
            yield embedded.uri
        finally:
            embedded.stop()


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(command: list[str], env: dict, log: Path) -> Server:
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen([*command, "--port", str(port)], env=os.environ | env, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Server(process, port)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def herald_server(uri: str, db_name: str, log: Path, extra: dict | None = None) -> Server:
    # One bench token drives every client: its rate limit is off, as for a trusted integration.
    env = {"MONGODB_URI": uri, "HERALD_DB_NAME": db_name, "HERALD_DATA_DIR": tempfile.mkdtemp(prefix="herald-bench-"),
           "HERALD_PUBLIC_URL": "http://bench.test", "HERALD_RATE_LIMIT_PER_MINUTE": "0"} | (extra or {})
    return start_server([sys.executable, "-m", "api.cli", "serve", "--log-level", "warning"], env, log)


class Fixture:
    """A database with a staff token and requests, driven directly with PyMongo."""

    def __init__(self, uri: str, db_name: str | None = None):
        self.client = AsyncMongoClient(uri, tz_aware=True)
        self.db_name = db_name or f"bench_{uuid.uuid4().hex[:8]}"
        self.db = self.client[self.db_name]
        self.actor = Actor(role="staff", name="Bench", token_id="bench")

    async def staff_token(self) -> str:
        """Also prepares the database as a first start of Herald would."""
        await ensure_indexes(self.db)
        await ensure_default_workflow(self.db)
        return await create_token(self.db, role="staff", name="Bench")

    async def requests(self, count: int) -> list[str]:
        ids = []
        for i in range(count):
            client = ClientInfo(name=f"Client {i}", email=None, phone=None, locale="ru", channels=())
            doc, _ = await create_request(self.db, new=NewRequest(
                title=f"Site {i}", description=None, service=None, workflow="default", client=client), actor=self.actor)
            ids.append(str(doc["_id"]))
        return ids

    async def move(self, request_id: str, to: str) -> dict:
        """One transition, the same transaction Herald's mutation runs; returns its event."""
        _, event = await transition_request(self.db, request_id=request_id, to=to, actor=self.actor)
        return event

    async def close(self) -> None:
        await self.client.close()


def percentiles(values_ms: list[float]) -> dict:
    ordered = sorted(values_ms)
    if not ordered:
        return {"n": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50": round(pick(0.50), 1), "p99": round(pick(0.99), 1), "max": round(ordered[-1], 1),
            "mean": round(statistics.fmean(ordered), 1)}


# ---- subscribers, in load-generator processes ----

class LeanSubscriber(asyncio.Protocol):
    """One subscriber socket at the least CPU a client can spend: no task, no queue, just
    websockets' sans-I/O parser on the bytes as they arrive and a timestamp per event. The load
    generators share the server's cores, so a heavier client would measure itself."""

    def __init__(self, url: str, token: str, query: str, since: int | None, request_ids: list[str],
                 receipts: list, expected: int):
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=["graphql-transport-ws"], max_size=None)
        self.token, self.query, self.since, self.request_ids = token, query, since, request_ids
        self.receipts, self.expected, self.got = receipts, expected, 0
        loop = asyncio.get_running_loop()
        self.ready, self.warm, self.done = loop.create_future(), loop.create_future(), loop.create_future()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)

    def _send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def data_received(self, data: bytes) -> None:
        received_at = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                self._send({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
            elif isinstance(event, Frame) and event.opcode.name == "TEXT":
                self._on_message(json.loads(event.data), received_at)
            elif isinstance(event, Frame) and event.opcode.name == "CLOSE":
                self._fail(RuntimeError(f"closed: {event.data[:2].hex()}"))
        self._flush()  # pongs the protocol queued for the server's keepalive pings

    def _on_message(self, message: dict, received_at: float) -> None:
        if message["type"] == "connection_ack":
            for n, request_id in enumerate(self.request_ids):
                variables = {"id": request_id} | ({"since": self.since} if self.since is not None else {})
                self._send({"id": str(n), "type": "subscribe", "payload": {"query": self.query, "variables": variables}})
            self.ready.set_result(None)
        elif message["type"] == "next":
            data = message["payload"]["data"]["requestUpdated"]
            self.receipts.append((received_at, data["at"], data["version"]))
            self.got += 1
            if self.got == len(self.request_ids) and not self.warm.done():
                self.warm.set_result(None)  # each subscription has had its first event
            if self.got == self.expected and not self.done.done():
                self.done.set_result(None)  # the socket stays open: closing now would load the server mid-run
        else:
            self._fail(RuntimeError(message))

    def _fail(self, error: Exception) -> None:
        for future in (self.ready, self.warm, self.done):
            if not future.done():
                future.set_exception(error)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self._fail(exc or RuntimeError("connection lost"))


async def _open(url: str, subscriber_args: tuple) -> LeanSubscriber:
    uri = parse_uri(url)
    _, subscriber = await asyncio.get_running_loop().create_connection(
        lambda: LeanSubscriber(url, *subscriber_args), uri.host, uri.port)
    return subscriber


async def _run_subscribers(url, token, query, since, plan, expected_per_socket, connected, done):
    receipts: list = []
    subscribers: list[LeanSubscriber] = []
    for batch_start in range(0, len(plan), 200):  # connect in batches: the listen backlog is finite
        batch = [await _open(url, (token, query, since, request_ids, receipts, expected_per_socket))
                 for request_ids in plan[batch_start:batch_start + 200]]
        await asyncio.wait_for(asyncio.gather(*(s.ready for s in batch)), 120)
        subscribers += batch
    connected.send(len(plan))
    await asyncio.gather(*(s.warm for s in subscribers), return_exceptions=True)
    connected.send("warm")
    results = await asyncio.gather(*(s.done for s in subscribers), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)][:3]
    done.send({"receipts": receipts, "failures": failures})
    for subscriber in subscribers:
        subscriber.transport.close()


def subscriber_process(*args):
    asyncio.run(_run_subscribers(*args))


class Subscribers:
    """Sockets spread over load-generator processes; each socket subscribes to its requests."""

    def __init__(self, ws_url: str, token: str, query: str, since: int | None, sockets: list[list[str]],
                 expected_per_socket: int, processes: int = 2):
        self._pipes = []
        self._processes = []
        for share in range(processes):
            plan = sockets[share::processes]
            connected_recv, connected_send = multiprocessing.Pipe(duplex=False)
            done_recv, done_send = multiprocessing.Pipe(duplex=False)
            process = multiprocessing.Process(target=subscriber_process, daemon=True,
                                              args=(ws_url, token, query, since, plan, expected_per_socket,
                                                    connected_send, done_send))
            process.start()
            self._processes.append(process)
            self._pipes.append((connected_recv, done_recv))

    def wait_connected(self, timeout: float = 300) -> None:
        for connected, _ in self._pipes:
            if not connected.poll(timeout):
                raise TimeoutError("subscribers did not connect in time")
            connected.recv()

    def wait_warm(self, timeout: float = 600) -> None:
        """Every subscription has received its first event: all are live."""
        for connected, _ in self._pipes:
            if not connected.poll(timeout):
                raise TimeoutError("subscribers did not all get their first event in time")
            connected.recv()

    def results(self, timeout: float = 300) -> tuple[list, list]:
        receipts, failures = [], []
        for _, done in self._pipes:
            if not done.poll(timeout):
                raise TimeoutError("subscribers did not receive every event in time")
            result = done.recv()
            receipts += result["receipts"]
            failures += result["failures"]
        for process in self._processes:
            process.join(10)
        return receipts, failures

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()


def latencies_ms(receipts: list, version: int | None = None) -> list[float]:
    """Commit to receipt: the event's `at` is set in its transaction, just before the commit."""
    from datetime import datetime
    return [(received - datetime.fromisoformat(at).timestamp()) * 1000
            for received, at, got in receipts if version is None or got == version]
