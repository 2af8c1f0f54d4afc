"""transitions: transitions per second end to end over HTTP (GraphQL mutation) with 32
concurrent clients, against the same transaction done directly with PyMongo in the same
run; p50/p99 latency of each.

    .venv/bin/python bench/transitions.py [--seconds 20] [--clients 32]

Each client moves its own request around the rework loop (in_progress <-> completing), so
transactions do not conflict and the figures are Herald's cost, not contention.
"""

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
from bson import ObjectId

from common import Fixture, database, herald_server, percentiles

MUTATION = """mutation M($id: ID!, $to: String!) { transitionRequest(input: {id: $id, to: $to}) {
  __typename ... on TransitionRequestSuccess { request { version } } } }"""
LOOP = ("completing", "in_progress")


async def raw_transition(db, request_id: ObjectId, to: str) -> None:
    """The transaction Herald's mutation runs, written with PyMongo alone: the request updated with a
    version check, its event (with the snapshot) and the client's notification job inserted."""
    async with db.client.start_session() as session:
        async def write(session):
            doc = await db.requests.find_one({"_id": request_id}, session=session)
            changes = {"status": to, "version": doc["version"] + 1}
            await db.requests.update_one({"_id": request_id, "version": doc["version"]}, {"$set": changes}, session=session)
            event = {"request_id": request_id, "version": doc["version"] + 1, "type": "STATUS_CHANGED",
                     "from": doc["status"], "to": to, "snapshot": doc | changes}
            await db.request_events.insert_one(event, session=session)
        await session.with_transaction(write)


async def drive(seconds: float, clients: int, move) -> dict:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        step = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await move(n, LOOP[step % 2])
            latencies.append((time.perf_counter() - started) * 1000)
            step += 1

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    return {"per_second": round(len(latencies) / elapsed, 1), **percentiles(latencies)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with database() as uri:
        fixture = Fixture(uri)
        token = await fixture.staff_token()
        http_ids = await fixture.requests(args.clients)
        raw_ids = [ObjectId(i) for i in await fixture.requests(args.clients)]
        for request_id in http_ids + [str(i) for i in raw_ids]:
            await fixture.move(request_id, "in_progress")
        server = herald_server(uri, fixture.db_name, Path(tempfile.mkdtemp()) / "server.log")
        try:
            async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                                         limits=httpx.Limits(max_connections=args.clients), timeout=30) as http:
                async def over_http(n: int, to: str) -> None:
                    body = (await http.post("/graphql", json={"query": MUTATION,
                                                              "variables": {"id": http_ids[n], "to": to}})).json()
                    assert body["data"]["transitionRequest"]["__typename"] == "TransitionRequestSuccess", body

                herald = await drive(args.seconds, args.clients, over_http)
            raw = await drive(args.seconds, args.clients, lambda n, to: raw_transition(fixture.db, raw_ids[n], to))
        finally:
            server.stop()
            await fixture.client.drop_database(fixture.db_name)
            await fixture.close()
    print(f"transitions, {args.clients} concurrent clients, {args.seconds:.0f} s each")
    print(f"{'path':<22} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, row in (("Herald over HTTP", herald), ("PyMongo directly", raw)):
        print(f"{name:<22} {row['per_second']:>8} {row['p50']:>8} {row['p99']:>8}")
    print(f"ratio Herald/PyMongo: {herald['per_second'] / raw['per_second']:.2f}")
    print("RESULT " + json.dumps({"benchmark": "transitions", "herald": herald, "pymongo": raw,
                                  "ratio": round(herald["per_second"] / raw["per_second"], 2)}))


if __name__ == "__main__":
    asyncio.run(main())
