"""SMS through an HTTP gateway the test runs, and the short link they carry."""

import re

from tests.api.notifications.conftest import all_settled, wait_notifications
from tests.conftest import create_request

PHONE_ONLY = {"name": "Пётр", "phone": "8 912 345 67 80"}


async def test_a_failing_gateway_is_retried_until_it_recovers(herald, tokens, receiver):
    receiver.fail_first = 1
    created = await create_request(herald, tokens["integration"], client=PHONE_ONLY)
    request = await wait_notifications(herald, tokens["staff"], created["request"]["id"], all_settled)
    assert request["notifications"] == [
        {"channel": "SMS", "state": "SENT", "attempts": 2, "lastError": None, "eventVersion": 1}]
    first, second = receiver.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == second.json["id"]
    assert second.json["to"] == "+79123456780"
    text = second.json["text"]
    assert text.startswith("REQ-000001: Заявка получена. http://herald.test/s/")
    assert len(text) <= 70  # one Cyrillic SMS


async def test_the_short_link_opens_the_portal_with_a_working_token(herald, tokens, receiver):
    created = await create_request(herald, tokens["integration"], client=PHONE_ONLY)
    [sms] = await receiver.wait_for(1)
    path = re.search(r"http://herald\.test(/s/\S+)", sms.json["text"]).group(1)
    response = await herald.http.get(path)
    assert response.status_code == 303
    token = re.fullmatch(r"/portal#token=(\S+)", response.headers["location"]).group(1)
    read = await herald.data("query R($id: ID!) { request(id: $id) { number } }", {"id": created["request"]["id"]}, token)
    assert read["request"]["number"] == "REQ-000001"
    assert (await herald.http.get("/s/not-a-code")).status_code == 404


async def test_a_gateway_that_always_fails_ends_failed_with_its_error(herald, tokens, receiver):
    receiver.always_fail = True
    herald.settings.notify_max_attempts = 3  # read by the dispatcher on every failure
    created = await create_request(herald, tokens["integration"], client=PHONE_ONLY)
    request = await wait_notifications(herald, tokens["staff"], created["request"]["id"], all_settled)
    [notification] = request["notifications"]
    assert notification["state"] == "FAILED"
    assert notification["attempts"] == 3
    assert notification["lastError"] == 'HTTP 503: {"error":"gateway busy"}'
    assert len(receiver.received) == 3


async def test_the_client_sees_delivery_status_but_not_webhooks(herald, tokens, receiver):
    created = await create_request(herald, tokens["integration"], client=PHONE_ONLY)
    await wait_notifications(herald, tokens["staff"], created["request"]["id"], all_settled)
    await herald.data('mutation { registerWebhook(input: {url: "http://127.0.0.1:9/nowhere"}) { __typename } }',
                      token=tokens["admin"])
    await herald.data('mutation M($id: ID!) { transitionRequest(input: {id: $id, to: "in_progress"}) { __typename } }',
                      {"id": created["request"]["id"]}, tokens["staff"])
    as_client = await wait_notifications(herald, created["clientAccessToken"], created["request"]["id"],
                                         lambda ns: len(ns) == 2)
    assert [(n["channel"], n["eventVersion"]) for n in as_client["notifications"]] == [("SMS", 1), ("SMS", 2)]
    as_staff = await wait_notifications(herald, tokens["staff"], created["request"]["id"], lambda ns: len(ns) == 3)
    assert ("WEBHOOK", 2) in [(n["channel"], n["eventVersion"]) for n in as_staff["notifications"]]
