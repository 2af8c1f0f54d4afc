"""With nothing configured, mail lands as .eml files and SMS as JSON lines under the data folder."""

import email
import json
from email import policy

import pytest

from tests.api.notifications.conftest import FAST, all_settled, wait_notifications
from tests.conftest import create_request, transition


@pytest.fixture
def settings(settings):
    return settings.model_copy(update=FAST | {"smtp_url": None, "sms_gateway_url": None})


async def test_a_lifecycle_leaves_readable_files(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    for to in ("in_progress", "completing", "closed"):
        await transition(herald, tokens["staff"], created["request"]["id"], to)
    request = await wait_notifications(herald, tokens["staff"], created["request"]["id"],
                                       lambda ns: len(ns) == 8 and all_settled(ns))
    assert {n["state"] for n in request["notifications"]} == {"SENT"}

    data_dir = herald.settings.data_dir
    subjects = sorted(email.message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
                      for path in (data_dir / "mail").glob("*.eml"))
    assert subjects == sorted(["REQ-000001: Заявка получена", "REQ-000001: В обработке", "REQ-000001: Завершение",
                               "REQ-000001: Закрыто"])
    lines = [json.loads(line) for line in (data_dir / "sms.jsonl").read_text().splitlines()]
    assert sorted(line["text"].split(".")[0] for line in lines) == sorted(
        ["REQ-000001: Заявка получена", "REQ-000001: В обработке", "REQ-000001: Завершение", "REQ-000001: Закрыто"])
    assert {line["to"] for line in lines} == {"+79123456789"}
