"""fanout: one transition pushed to N subscribers of one request, and N subscribers spread
over 1,000 requests each moved once; latency from commit to receipt at every subscriber, and
server memory per idle subscriber. The textbook Strawberry app (bench/textbook_app.py) runs
in the same invocation, on the same machine, one server at a time; the result is the ratio.

    .venv/bin/python bench/fanout.py                      # 1,000 / 5,000 / 20,000, baseline at 1,000 / 5,000
    .venv/bin/python bench/fanout.py --sizes 1000 --baseline-sizes 1000 --spread 0

Subscribers run in two load-generator processes. A socket carries --per-socket subscriptions
(1 by default; 20,000 sockets do not fit under this machine's limit of 20,000 open files,
so the 20,000 case uses 2, as a page showing two requests does).
"""

import argparse
import asyncio
import json
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from common import (HERALD_SUBSCRIPTION, TEXTBOOK_SUBSCRIPTION, Fixture, Subscribers, database, herald_server,
                    latencies_ms, percentiles, start_server)

HERE = Path(__file__).resolve().parent


async def run_case(kind: str, uri: str, subscribers: int, per_socket: int, requests: int, log: Path,
                   profile: Path | None = None) -> dict:
    fixture = Fixture(uri)
    token = await fixture.staff_token()
    request_ids = await fixture.requests(requests)
    if kind == "herald":
        server = herald_server(uri, fixture.db_name, log, {"HERALD_WS_MAX_PENDING_FRAMES": "10000"})
        query, since = HERALD_SUBSCRIPTION, 1
    else:
        server = start_server([sys.executable, str(HERE / "textbook_app.py")],
                              {"MONGODB_URI": uri, "HERALD_DB_NAME": fixture.db_name}, log)
        query, since = TEXTBOOK_SUBSCRIPTION, None
    generators = None
    try:
        await asyncio.sleep(1)
        rss_before = server.rss_kib()
        plan = [request_ids[i % requests] for i in range(subscribers)]
        sockets = [plan[i:i + per_socket] for i in range(0, subscribers, per_socket)]
        events_each = 2 if kind == "herald" else 1  # Herald's subscribers also get the warm-up event
        generators = Subscribers(server.url.replace("http", "ws") + "/graphql", token, query, since, sockets,
                                 expected_per_socket=per_socket * events_each)
        started = time.monotonic()
        await asyncio.to_thread(generators.wait_connected)
        connect_s = time.monotonic() - started
        if kind == "herald":
            # Version 2, replayed to whoever subscribed after it: once every subscriber has it, all are live.
            for request_id in request_ids:
                await fixture.move(request_id, "in_progress")
            await asyncio.to_thread(generators.wait_warm)
            await asyncio.sleep(2)
        else:
            await asyncio.sleep(max(3.0, subscribers / 1000))  # subscribing there is immediate
        rss_idle = server.rss_kib()
        fanout_before = fanout_seconds(server) if kind == "herald" else None
        spy = profile_server(server, profile / f"{kind}-{subscribers}-{requests}.txt") if profile else None
        measured = "completing" if kind == "herald" else "in_progress"
        for request_id in request_ids:
            event = await fixture.move(request_id, measured)
        receipts, failures = await asyncio.to_thread(generators.results, 600)
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        latencies = latencies_ms(receipts, version=event["version"])
        server_side = None
        if fanout_before:
            (sum_after, count_after), (sum_before, count_before) = fanout_seconds(server), fanout_before
            server_side = round((sum_after - sum_before) / max(1, count_after - count_before) * 1000, 1)
        return {"server": kind, "subscribers": subscribers, "per_socket": per_socket, "requests": requests,
                "connect_s": round(connect_s, 1), "rss_per_idle_subscriber_kib": round((rss_idle - rss_before) / subscribers, 1),
                "server_rss_mib": round(rss_idle / 1024, 1), "server_fanout_ms": server_side,
                **percentiles(latencies), "failures": failures}
    finally:
        if generators:
            generators.stop()
        server.stop()
        await fixture.client.drop_database(fixture.db_name)
        await fixture.close()


def fanout_seconds(server) -> tuple[float, float]:
    """Herald's own measure from /metrics: seconds spent fanning events out, and how many events."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("herald_fanout_latency_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("herald_fanout_latency_seconds_count"):
            count = float(line.split()[-1])
    return total, count


def profile_server(server, output: Path) -> subprocess.Popen:
    """py-spy samples the server while it fans out (collapsed stacks: see where the time goes)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.process.pid),
                            "--rate", "250", "--format", "raw", "--output", str(output), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return spy


def table(rows: list[dict]) -> str:
    head = (f"{'server':<9} {'subs':>6} {'/sock':>5} {'reqs':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'KiB/idle sub':>12} {'rcvd':>6} {'server fan-out ms':>17}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['server']:<9} {r['subscribers']:>6} {r['per_socket']:>5} {r['requests']:>5} {r.get('p50', '-'):>8} "
                     f"{r.get('p99', '-'):>8} {r.get('max', '-'):>8} {r['rss_per_idle_subscriber_kib']:>12} {r['n']:>6} "
                     f"{r['server_fanout_ms'] if r['server_fanout_ms'] is not None else '-':>17}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--baseline-sizes", default="1000,5000")
    parser.add_argument("--spread", type=int, default=1000, help="requests for the spread variant (0: skip it)")
    parser.add_argument("--spread-subscribers", type=int, default=5000)
    parser.add_argument("--profile", type=Path, help="a folder for py-spy profiles of the servers")
    args = parser.parse_args()
    rows = []
    log = Path(tempfile.mkdtemp(prefix="herald-fanout-")) / "server.log"
    with database() as uri:
        for size in map(int, args.sizes.split(",")):
            per_socket = 2 if size > 15000 else 1
            for kind in ("herald", "textbook"):
                if kind == "textbook" and str(size) not in args.baseline_sizes.split(","):
                    continue
                rows.append(await run_case(kind, uri, size, per_socket, 1, log, args.profile))
                print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        if args.spread:
            for kind in ("herald", "textbook"):
                rows.append(await run_case(kind, uri, args.spread_subscribers, 1, args.spread, log, args.profile))
    print(f"fanout on {platform.node()} ({platform.processor() or platform.machine()}, 2 cores), one server process")
    print(table(rows))
    for size in {r["subscribers"] for r in rows}:
        pair = {r["server"]: r for r in rows if r["subscribers"] == size and r["requests"] == 1}
        if len(pair) == 2:
            print(f"p99 ratio textbook/herald at {size}: {pair['textbook']['p99'] / pair['herald']['p99']:.1f}x")
    print("RESULT " + json.dumps({"benchmark": "fanout", "rows": rows}))


if __name__ == "__main__":
    asyncio.run(main())
