"""Structured logs: a request id per HTTP request, one JSON object a line, and
no token, email or phone number in clear, even with every library logging at debug."""

import io
import json
import logging
import re

from api.logs import AddRequestId, JsonFormatter, MaskSecrets, TextFormatter, request_id_scope
from tests.api.test_processes import ask, herald_env, serving

HEX_ID = re.compile(r"[0-9a-f]{32}")


async def test_each_request_gets_an_id_and_a_sane_incoming_one_is_kept(herald):
    first, second = (await herald.http.get("/healthz")).headers["x-request-id"], \
        (await herald.http.get("/healthz")).headers["x-request-id"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second
    kept = await herald.http.post("/graphql", json={"query": "{ viewer { role } }"},
                                  headers={"X-Request-ID": "lb-7f3a.42:trace"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42:trace"
    for insane in ("two words", "x" * 300, "<script>", ""):
        replaced = await herald.http.get("/healthz", headers={"X-Request-ID": insane})
        assert HEX_ID.fullmatch(replaced.headers["x-request-id"]), insane


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    """A logger writing through Herald's filters and the given formatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter)
    handler.addFilter(AddRequestId())
    handler.addFilter(MaskSecrets())
    logger = logging.getLogger(f"herald.test.{id(buffer)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, buffer


def test_a_json_line_has_the_fields_and_no_secret_in_clear():
    logger, buffer = capture(JsonFormatter())
    with request_id_scope("req-1"):
        try:
            raise ValueError("token hrl_secretsecret123 rejected")
        except ValueError:
            logger.exception("client %s (%s, %s) used %s", "Анна", "anna@example.ru", "+7 912 345-67-89",
                             "hrl_AbCdEf-_123", extra={"recipient": "anna@example.ru", "attempt": 2})
    logger.info("outside any request")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["level"] == "ERROR" and first["logger"] == logger.name and first["request_id"] == "req-1"
    assert first["time"].endswith("Z")
    assert first["message"] == "client Анна (***@example.ru, ***89) used hrl_***"
    assert first["recipient"] == "***@example.ru" and first["attempt"] == 2
    assert "ValueError: token hrl_*** rejected" in first["exception"]
    assert second["request_id"] is None and second["message"] == "outside any request"
    text = buffer.getvalue()
    assert "anna@" not in text and "912 345" not in text and "secretsecret" not in text and "AbCdEf" not in text


def test_a_text_line_reads_like_a_sentence():
    logger, buffer = capture(TextFormatter())
    with request_id_scope("req-2"):
        logger.warning("sent to %s", "+79123456789", extra={"channel": "SMS"})
    line = buffer.getvalue().strip()
    assert re.fullmatch(r"\S+Z WARNING herald\.test\.\d+ \[req-2\]: sent to \*\*\*89 channel=SMS", line), line


async def test_a_served_process_logs_json_lines_without_secrets_even_at_debug(tmp_path):
    env = herald_env(tmp_path / "data", HERALD_LOG_FORMAT="json")
    log = tmp_path / "serve.log"
    async with serving(env, log, "--log-level", "debug") as (_, http):
        admin = (tmp_path / "data" / "admin.token").read_text().strip()
        response = await http.post("/graphql", headers={"Authorization": f"Bearer {admin}", "X-Request-ID": "e2e-1"},
                                   json={"query": """mutation { createRequest(input: {title: "Repair", client: {
                                     name: "Oleg", email: "oleg.secret@example.org", phone: "8 912 765-43-21"}}) {
                                     ... on CreateRequestSuccess { clientAccessToken } } }"""})
        client_token = response.json()["data"]["createRequest"]["clientAccessToken"]
        assert (await ask(http, client_token, "{ viewer { role } }"))["viewer"]["role"] == "client"
        refused = await http.post("/graphql", json={"query": "{ viewer { role } }"},
                                  headers={"Authorization": "Bearer hrl_guessedguessedguessed"})
        assert refused.status_code == 401
    entries = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries)
    access = [e for e in entries if e["logger"] == "herald.http" and e["request_id"] == "e2e-1"]
    assert [(e["method"], e["route"], e["status"]) for e in access] == [("POST", "/graphql", 200)]
    assert any(e["logger"].startswith("pymongo") for e in entries), "debug logging did not reach the libraries"
    text = log.read_text()
    assert "***@example.org" in text, "the client's email never reached a log line: the test proves nothing"
    for secret in (admin, client_token, "hrl_guessed", "oleg.secret", "765-43-21", "9127654321"):
        assert secret not in text, secret
