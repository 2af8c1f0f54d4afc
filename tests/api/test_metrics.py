"""GET /metrics as Prometheus scrapes it: HTTP requests, GraphQL operations, notifications,
the outbox, the event hub and the hooks the WebSocket layer calls."""

import asyncio
from datetime import timedelta

import pytest
from bson import ObjectId
from gql import GraphQLRequest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import MAX_OPERATION_NAMES, Metrics
from db.client import now
from db.embedded import free_port
from tests.conftest import create_request, transition


async def scrape(herald) -> dict[tuple, float]:
    """Every sample of /metrics, keyed by (name, sorted labels)."""
    response = await herald.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def eventually(check, timeout: float = 10):
    """Waits until the async check returns something truthy; returns it."""
    async def poll():
        while not (result := await check()):
            await asyncio.sleep(0.05)
        return result
    return await asyncio.wait_for(poll(), timeout)


async def test_operations_are_counted_by_name_and_outcome_and_timed(herald, tokens):
    created = await create_request(herald, tokens["staff"])
    await herald.data("query Mine { viewer { role } }", token=tokens["staff"])
    await herald.graphql("query Peek($id: ID!) { request(id: $id) { title } }", {"id": created["request"]["id"]})
    await herald.graphql("{ nope }")
    samples = await scrape(herald)
    operations = "herald_graphql_operations_total"
    assert value(samples, operations, operation="Create", type="mutation", outcome="ok") == 1
    assert value(samples, operations, operation="Mine", type="query", outcome="ok") == 1
    assert value(samples, operations, operation="Peek", type="query", outcome="unauthenticated") == 1
    assert value(samples, operations, operation="nope", type="query", outcome="invalid") == 1
    assert value(samples, "herald_graphql_operation_duration_seconds_count", operation="Create", type="mutation") == 1
    assert value(samples, "herald_graphql_operation_duration_seconds_sum", operation="Create", type="mutation") > 0


async def test_http_requests_are_counted_by_route_template_never_by_raw_path(herald):
    await herald.http.get("/healthz")
    await herald.http.get("/s/secret-short-code")
    await herald.http.get("/no/such/page")
    response = await herald.http.get("/metrics")
    assert "secret-short-code" not in response.text
    samples = await scrape(herald)
    requests = "herald_http_requests_total"
    assert value(samples, requests, method="GET", route="/healthz", status="200") == 1
    assert value(samples, requests, method="GET", route="/s/{code}", status="404") == 1
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    assert value(samples, "herald_http_request_duration_seconds_count", route="/healthz") == 1


async def test_unexpected_errors_count_as_internal(herald, tokens, db):
    created = await create_request(herald, tokens["staff"])
    await db.requests.update_one({"_id": ObjectId(created["request"]["id"])}, {"$unset": {"title": ""}})
    body = await herald.graphql("query Titles { requests { edges { node { title } } } }", token=tokens["staff"])
    assert body["errors"][0]["message"] == "Unexpected error."
    samples = await scrape(herald)
    assert value(samples, "herald_graphql_operations_total", operation="Titles", type="query", outcome="internal") == 1


@pytest.fixture
def settings(settings):
    """Mail goes to files (sent at once); SMS to a gateway that is not there (retried, then failed)."""
    return settings.model_copy(update={
        "sms_gateway_url": f"http://127.0.0.1:{free_port()}/sms", "notify_max_attempts": 2,
        "notify_retry_base_s": 0.05, "notify_retry_max_s": 0.1, "notify_poll_s": 0.05})


async def test_notifications_are_counted_by_channel_and_state(herald, tokens):
    await create_request(herald, tokens["staff"], client={"name": "Анна", "email": "anna@example.ru",
                                                          "phone": "+79123456789"})

    async def settled():
        samples = await scrape(herald)
        return samples if value(samples, "herald_notifications_total", channel="SMS", state="FAILED") else None

    samples = await eventually(settled)
    assert value(samples, "herald_notifications_total", channel="EMAIL", state="SENT") == 1
    assert value(samples, "herald_notifications_total", channel="SMS", state="RETRY") == 1
    assert value(samples, "herald_notifications_total", channel="SMS", state="FAILED") == 1
    assert value(samples, "herald_outbox_lag_seconds") == 0  # nothing waits any more
    assert value(samples, "herald_database_up") == 1


class TestWithoutADispatcher:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"dispatcher": False})

    async def test_outbox_lag_is_the_age_of_the_oldest_due_message(self, herald, tokens, db):
        assert value(await scrape(herald), "herald_outbox_lag_seconds") == 0
        await create_request(herald, tokens["staff"])  # its email waits: nobody sends it
        await db.notifications.update_many({}, {"$set": {"due_at": now() - timedelta(seconds=90)}})
        lag = value(await scrape(herald), "herald_outbox_lag_seconds")
        assert 90 <= lag < 120


async def test_sockets_subscribers_and_fanned_out_events_are_read_live(herald, tokens):
    request_id = (await create_request(herald, tokens["staff"]))["request"]["id"]
    before = await scrape(herald)
    assert value(before, "herald_active_subscriptions") == 0
    assert value(before, "herald_websocket_connections") == 0
    watch = GraphQLRequest("subscription W($id: ID!) { requestUpdated(id: $id) { version } }",
                           variable_values={"id": request_id})
    async with herald.ws_client(tokens["staff"]) as session:
        stream = session.subscribe(watch)
        first = asyncio.create_task(anext(stream))

        async def subscribed():
            return value(await scrape(herald), "herald_active_subscriptions") == 1

        await eventually(subscribed)
        await transition(herald, tokens["staff"], request_id, "in_progress")
        assert (await asyncio.wait_for(first, 10))["requestUpdated"]["version"] == 2
        during = await scrape(herald)
        await stream.aclose()
    assert value(during, "herald_websocket_connections") == 1
    assert value(during, "herald_events_fanned_out_total") >= value(before, "herald_events_fanned_out_total") + 1
    assert value(during, "herald_fanout_latency_seconds_count") >= 1  # the fan-out timed its delivery

    async def all_gone():
        samples = await scrape(herald)
        return value(samples, "herald_active_subscriptions") == value(samples, "herald_websocket_connections") == 0

    await eventually(all_gone)


def test_the_fanout_hook_fills_its_histogram():
    metrics = Metrics()
    metrics.observe_fanout(0.003)
    assert metrics.registry.get_sample_value("herald_fanout_latency_seconds_count") == 1
    assert metrics.registry.get_sample_value("herald_fanout_latency_seconds_bucket", {"le": "0.005"}) == 1


def test_apps_keep_their_own_metrics_and_callers_cannot_grow_the_label_set():
    first, second = Metrics(), Metrics()
    first.observe_fanout(0.1)
    assert second.registry.get_sample_value("herald_fanout_latency_seconds_count") == 0
    names = {first.operation_label(f"Op{i}") for i in range(MAX_OPERATION_NAMES + 50)}
    assert len(names) == MAX_OPERATION_NAMES + 1 and "other" in names
    assert first.operation_label("Op1") == "Op1"  # known names keep their label
    assert first.operation_label("not a name; DROP") == "other"
    assert first.operation_label(None) == "anonymous"
