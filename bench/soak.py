"""soak: bounded mixed load against one server for a given number of minutes: requests
created, moved along their workflow, subscribers joining and leaving. It checks that every
subscriber saw contiguous versions, that every notification ended SENT, and that the
server's memory did not grow after warm-up.

    .venv/bin/python bench/soak.py --minutes 10
"""

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from common import Fixture, database, herald_server

CREATE = """mutation C($input: CreateRequestInput!) { createRequest(input: $input) {
  ... on CreateRequestSuccess { request { id } } } }"""
MOVE = """mutation M($id: ID!, $to: String!) { transitionRequest(input: {id: $id, to: $to}) { __typename } }"""
WATCH = "subscription W($id: ID!) { requestUpdated(id: $id, sinceVersion: 0) { version } }"
NEXT = {"received": ["in_progress"], "in_progress": ["completing"], "completing": ["closed", "in_progress"],
        "closed": ["in_progress"]}


class Soak:
    def __init__(self, http: httpx.AsyncClient, ws_url: str, staff: str, deadline: float):
        self.http, self.ws_url, self.staff, self.deadline = http, ws_url, staff, deadline
        self.requests: dict[str, str] = {}  # id -> status
        self.counts = {"created": 0, "moved": 0, "subscribers": 0, "events_seen": 0, "gaps": 0, "errors": 0}

    async def call(self, token: str, query: str, variables: dict) -> dict:
        body = (await self.http.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})).json()
        if "errors" in body:
            self.counts["errors"] += 1
        return body.get("data") or {}

    async def creator(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            data = await self.call(self.staff, CREATE, {"input": {
                "title": f"Soak {n}", "client": {"name": f"Client {n}", "email": f"c{n}@example.com",
                                                 "phone": f"+7912{n % 10_000_000:07d}"}}})
            if request := data.get("createRequest", {}).get("request"):
                self.requests[request["id"]] = "received"
                self.counts["created"] += 1
            await asyncio.sleep(0.2)

    async def mover(self) -> None:
        while time.monotonic() < self.deadline:
            if self.requests:
                request_id = random.choice(list(self.requests))
                to = random.choice(NEXT[self.requests[request_id]])
                data = await self.call(self.staff, MOVE, {"id": request_id, "to": to})
                if data.get("transitionRequest", {}).get("__typename") == "TransitionRequestSuccess":
                    self.requests[request_id] = to
                    self.counts["moved"] += 1
            await asyncio.sleep(0.05)

    async def subscriber(self) -> None:
        """Joins, watches one request from version 1 for a while, leaves, checks what it saw."""
        while time.monotonic() < self.deadline:
            if not self.requests:
                await asyncio.sleep(0.5)
                continue
            request_id = random.choice(list(self.requests))
            versions = []
            stay = random.uniform(3, 20)
            async with websockets.connect(self.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
                await socket.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {self.staff}"}}))
                await socket.recv()
                await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                              "payload": {"query": WATCH, "variables": {"id": request_id}}}))
                leave_at = time.monotonic() + stay
                while (remaining := leave_at - time.monotonic()) > 0:
                    try:
                        message = json.loads(await asyncio.wait_for(socket.recv(), remaining))
                    except TimeoutError:
                        break
                    if message["type"] == "next":
                        versions.append(message["payload"]["data"]["requestUpdated"]["version"])
            self.counts["subscribers"] += 1
            self.counts["events_seen"] += len(versions)
            if versions != list(range(1, len(versions) + 1)):
                self.counts["gaps"] += 1


async def sample_memory(server, deadline: float, samples: list) -> None:
    while time.monotonic() < deadline:
        samples.append((time.monotonic(), server.rss_kib()))
        await asyncio.sleep(5)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--subscribers", type=int, default=40, help="subscribers watching at any moment")
    args = parser.parse_args()
    with database() as uri:
        fixture = Fixture(uri)
        staff = await fixture.staff_token()
        server = herald_server(uri, fixture.db_name, Path(tempfile.mkdtemp()) / "server.log",
                               {"HERALD_NOTIFY_RETRY_BASE_S": "1"})
        memory: list = []
        started = time.monotonic()
        deadline = started + args.minutes * 60
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                soak = Soak(http, server.url.replace("http", "ws") + "/graphql", staff, deadline)
                await asyncio.gather(soak.creator(), soak.mover(), soak.mover(), sample_memory(server, deadline, memory),
                                     *(soak.subscriber() for _ in range(args.subscribers)))
                states = {}
                for _ in range(120):  # let the outbox drain
                    states = {doc["_id"]: doc["n"] async for doc in await fixture.db.notifications.aggregate(
                        [{"$group": {"_id": "$state", "n": {"$sum": 1}}}])}
                    if set(states) <= {"SENT", "FAILED"}:
                        break
                    await asyncio.sleep(1)
        finally:
            server.stop()
            await fixture.client.drop_database(fixture.db_name)
            await fixture.close()
    third = max(1, len(memory) // 3)
    warm = statistics.median(rss for _, rss in memory[third:2 * third]) / 1024
    late = statistics.median(rss for _, rss in memory[2 * third:]) / 1024
    result = {"minutes": args.minutes, **soak.counts, "notifications": states, "rss_mib_after_warmup": round(warm, 1),
              "rss_mib_last_third": round(late, 1), "rss_growth_pct": round((late - warm) / warm * 100, 1)}
    print(f"soak, {args.minutes:g} minutes, {args.subscribers} subscribers at a time")
    for key, value in result.items():
        print(f"  {key:<22} {value}")
    ok = result["gaps"] == 0 and set(states) == {"SENT"} and result["rss_growth_pct"] < 10 and result["errors"] == 0
    print("verdict: " + ("every subscriber contiguous, every notification SENT, memory flat" if ok else "FAILED"))
    print("RESULT " + json.dumps({"benchmark": "soak", **result, "ok": ok}))


if __name__ == "__main__":
    asyncio.run(main())
