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
import websockets
from pymongo import AsyncMongoClient

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
    env = {"MONGODB_URI": uri, "HERALD_DB_NAME": db_name, "HERALD_DATA_DIR": tempfile.mkdtemp(prefix="herald-bench-"),
           "HERALD_PUBLIC_URL": "http://bench.test"} | (extra or {})
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

async def _subscriber_socket(url: str, token: str, query: str, since: int | None, request_ids: list[str],
                             ready: asyncio.Event, warm: asyncio.Event, receipts: list, expected: int) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None,
                                  open_timeout=120, ping_interval=None) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        await socket.recv()
        for n, request_id in enumerate(request_ids):
            variables = {"id": request_id} | ({"since": since} if since is not None else {})
            await socket.send(json.dumps({"id": str(n), "type": "subscribe",
                                          "payload": {"query": query, "variables": variables}}))
        ready.set()
        got = 0
        while got < expected:
            message = json.loads(await socket.recv())
            if message["type"] == "next":
                data = message["payload"]["data"]["requestUpdated"]
                receipts.append((time.time(), data["at"], data["version"]))
                got += 1
                if got == len(request_ids):  # each subscription has had its first event
                    warm.set()
            elif message["type"] in ("error", "complete"):
                raise RuntimeError(message)


async def _run_subscribers(url, token, query, since, plan, expected_per_socket, connected, done):
    receipts: list = []
    readies, warms = [], []
    tasks = []
    for batch_start in range(0, len(plan), 200):  # connect in batches: the listen backlog is finite
        batch = plan[batch_start:batch_start + 200]
        for request_ids in batch:
            ready, warm = asyncio.Event(), asyncio.Event()
            readies.append(ready)
            warms.append(warm)
            tasks.append(asyncio.create_task(_subscriber_socket(url, token, query, since, request_ids, ready, warm,
                                                                receipts, expected_per_socket)))
        await asyncio.gather(*(r.wait() for r in readies[batch_start:]))
    connected.send(len(plan))
    await asyncio.gather(*(w.wait() for w in warms))
    connected.send("warm")
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)][:3]
    done.send({"receipts": receipts, "failures": failures})


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
