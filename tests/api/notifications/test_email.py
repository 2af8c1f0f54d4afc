"""Email to a real SMTP server: subject, language, links, headers, retries."""

import re

from tests.api.notifications.conftest import all_settled, wait_notifications
from tests.conftest import create_request, transition

EMAIL_ONLY = {"name": "Анна", "email": "anna@example.ru", "locale": "ru"}


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


async def test_the_received_message_arrives_in_russian_with_the_portal_link(herald, tokens, smtp_inbox):
    created = await create_request(herald, tokens["integration"], title="Сайт-визитка", client=EMAIL_ONLY)
    [message] = await smtp_inbox.wait_for(1)
    assert message["Subject"] == "REQ-000001: Заявка получена"
    assert message["To"] == "Анна <anna@example.ru>"
    assert message["Content-Language"] == "ru"
    assert re.fullmatch(r"<[0-9a-f]{24}@herald\.test>", message["Message-ID"])
    assert message["List-Unsubscribe"].startswith("<http://herald.test/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = plain(message)
    assert "Здравствуйте, Анна!" in text and "«Сайт-визитка»" in text and "REQ-000001" in text
    assert "Оценить работу" not in text  # the feedback link comes with the closing message
    html = message.get_body(("html",)).get_content()
    assert "Сайт-визитка" in html and 'lang="ru"' in html

    # The link opens the client's cabinet: its token reads the request.
    token = re.search(r"http://herald\.test/portal#token=(\S+)", text).group(1)
    read = await herald.data("query R($id: ID!) { request(id: $id) { number } viewer { role } }",
                             {"id": created["request"]["id"]}, token)
    assert read == {"request": {"number": "REQ-000001"}, "viewer": {"role": "client"}}


async def test_the_closing_message_carries_the_feedback_link_in_english(herald, tokens, smtp_inbox):
    created = await create_request(herald, tokens["integration"], title="Landing page",
                                   client={"name": "Kate", "email": "kate@example.com", "locale": "en"})
    await transition(herald, tokens["staff"], created["request"]["id"], "closed", comment="Done, see attached")
    messages = await smtp_inbox.wait_for(2)
    closing = next(m for m in messages if m["Subject"] == "REQ-000001: Closed")
    text = plain(closing)
    assert "Hello, Kate!" in text and "Please rate our work" in text
    assert "Comment: Done, see attached" in text
    assert re.search(r"Rate our work: http://herald\.test/portal#token=\S+&feedback=1", text)


async def test_a_server_refusing_twice_gets_it_on_the_third_attempt(herald, tokens, smtp_inbox):
    smtp_inbox.refuse = 2
    created = await create_request(herald, tokens["integration"], client=EMAIL_ONLY)
    await smtp_inbox.wait_for(1)
    request = await wait_notifications(herald, tokens["staff"], created["request"]["id"], all_settled)
    assert request["notifications"] == [
        {"channel": "EMAIL", "state": "SENT", "attempts": 3, "lastError": None, "eventVersion": 1}]
    assert request["version"] == 1  # delivery is not a change of the request
    assert len(smtp_inbox.messages) == 1


async def test_notify_client_false_creates_no_message(herald, tokens, smtp_inbox, db):
    created = await create_request(herald, tokens["integration"], client=EMAIL_ONLY)
    await transition(herald, tokens["staff"], created["request"]["id"], "closed", notifyClient=False)
    await transition(herald, tokens["staff"], created["request"]["id"], "closed")  # refused: already closed
    assert await db.notifications.count_documents({"event_version": 2}) == 0
    request = await wait_notifications(herald, tokens["staff"], created["request"]["id"], all_settled)
    assert [n["eventVersion"] for n in request["notifications"]] == [1]


async def test_an_unsubscribed_client_gets_no_more_email(herald, tokens, smtp_inbox, db):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    [message] = await smtp_inbox.wait_for(1)
    link = message["List-Unsubscribe"].strip("<>").replace("http://herald.test", "")
    confirm = await herald.http.get(link)
    assert confirm.status_code == 200 and "<form method=\"post\">" in confirm.text
    assert await db.requests.count_documents({"client.channels": "EMAIL"}) == 1  # a GET changes nothing
    one_click = await herald.http.post(link, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200

    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress")
    later = await create_request(herald, tokens["integration"], title="Second",
                                 client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    assert later["request"]["client"]["channels"] == ["SMS"]
    jobs = await db.notifications.find({}, {"channel": 1, "event_version": 1}).to_list()
    assert sorted((j["channel"], j["event_version"]) for j in jobs) == [
        ("EMAIL", 1), ("SMS", 1), ("SMS", 1), ("SMS", 2)]
    assert (await herald.http.get("/unsubscribe/forged.token")).status_code == 404
