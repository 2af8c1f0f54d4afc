"""latency: one subscriber, commit to client, p50/p99, against the raw change-stream latency
(a PyMongo watcher in this process) measured on the same events in the same run.

    .venv/bin/python bench/latency.py [--events 300]
"""

import argparse
import asyncio
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import websockets

from common import HERALD_SUBSCRIPTION, Fixture, database, herald_server, percentiles


async def received(awaitable) -> tuple[float, object]:
    """What arrives, and when: both paths are awaited at once, so neither waits for the other."""
    value = await awaitable
    return time.time(), value


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    with database() as uri:
        fixture = Fixture(uri)
        token = await fixture.staff_token()
        [request_id] = await fixture.requests(1)
        server = herald_server(uri, fixture.db_name, Path(tempfile.mkdtemp()) / "server.log")
        raw, herald = [], []
        try:
            async with websockets.connect(server.url.replace("http", "ws") + "/graphql",
                                          subprotocols=["graphql-transport-ws"]) as socket, \
                    await fixture.db.request_events.watch([{"$match": {"operationType": "insert"}}]) as stream:
                await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
                await socket.recv()
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": HERALD_SUBSCRIPTION, "variables": {"id": request_id, "since": 1}}}))
                await asyncio.sleep(1)
                for n in range(args.events):
                    event = await fixture.move(request_id, ("in_progress", "completing")[n % 2])
                    committed = event["at"].timestamp()
                    (raw_at, change), (herald_at, frame) = await asyncio.wait_for(
                        asyncio.gather(received(stream.next()), received(socket.recv())), 10)
                    raw.append((raw_at - committed) * 1000)
                    herald.append((herald_at - committed) * 1000)
                    assert change["fullDocument"]["version"] == event["version"]
                    got = json.loads(frame)["payload"]["data"]["requestUpdated"]
                    assert got["version"] == event["version"] and datetime.fromisoformat(got["at"]).timestamp() == committed
                    await asyncio.sleep(0.02)  # one event at a time: latency, not throughput
        finally:
            server.stop()
            await fixture.client.drop_database(fixture.db_name)
            await fixture.close()
    raw_p, herald_p = percentiles(raw), percentiles(herald)
    print(f"latency, one subscriber, {args.events} events, commit to receipt")
    print(f"{'path':<26} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(f"{'raw change stream':<26} {raw_p['p50']:>8} {raw_p['p99']:>8} {raw_p['max']:>8}")
    print(f"{'Herald subscription':<26} {herald_p['p50']:>8} {herald_p['p99']:>8} {herald_p['max']:>8}")
    print(f"p99 above the raw change stream: {herald_p['p99'] - raw_p['p99']:.1f} ms")
    print("RESULT " + json.dumps({"benchmark": "latency", "raw": raw_p, "herald": herald_p,
                                  "p99_above_raw_ms": round(herald_p["p99"] - raw_p["p99"], 1)}))


if __name__ == "__main__":
    asyncio.run(main())
