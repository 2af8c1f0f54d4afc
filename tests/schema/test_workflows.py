"""Company-defined workflows: editing them with every validation error as data, requests in
flight, client-facing labels."""

import asyncio
import copy
import email
from email import policy

import pytest

from tests.conftest import create_request, transition

WORKFLOW_FIELDS = "key name initial { key } statuses { key label terminal description } transitions { from { key } to { key } roles }"
CREATE = f"""mutation C($input: WorkflowInput!) {{ createWorkflow(input: $input) {{ __typename
  ... on WorkflowSuccess {{ workflow {{ {WORKFLOW_FIELDS} }} }} ... on ValidationError {{ fields {{ field message }} }} }} }}"""
UPDATE = CREATE.replace("createWorkflow", "updateWorkflow")


def text(ru: str, en: str) -> dict:
    return {"ru": ru, "en": en}


# The default workflow with «Согласование макета» (layout approval) between in progress and completing.
WEBSITE = {
    "key": "website", "name": text("Сайты", "Websites"), "initial": "received",
    "statuses": [
        {"key": "received", "label": text("Заявка получена", "Received")},
        {"key": "in_progress", "label": text("В обработке", "In progress")},
        {"key": "layout_approval", "label": text("Согласование макета", "Layout approval"),
         "description": text("Посмотрите макет и напишите, что поправить.", "Look at the layout and tell us what to change.")},
        {"key": "completing", "label": text("Завершение", "Completing")},
        {"key": "closed", "label": text("Закрыто", "Closed"), "terminal": True},
    ],
    "transitions": [
        {"from": "received", "to": "in_progress"},
        {"from": "in_progress", "to": "layout_approval"},
        {"from": "layout_approval", "to": "in_progress"},
        {"from": "layout_approval", "to": "completing"},
        {"from": "completing", "to": "closed"},
        {"from": "received", "to": "closed"},
        {"from": "closed", "to": "in_progress", "roles": ["admin"]},
    ],
}


async def save(herald, token, workflow, mutation=CREATE) -> dict:
    return (await herald.data(mutation, {"input": workflow}, token))["createWorkflow" if mutation is CREATE else "updateWorkflow"]


async def test_an_admin_adds_a_status_and_a_request_walks_through_it(herald, tokens):
    created = await save(herald, tokens["admin"], WEBSITE)
    assert created["__typename"] == "WorkflowSuccess"
    assert [s["key"] for s in created["workflow"]["statuses"]][2] == "layout_approval"
    request = (await create_request(herald, tokens["integration"], workflow="website",
                                    client={"name": "Anna", "email": "anna@example.ru", "locale": "en"}))
    request_id = request["request"]["id"]
    for to in ("in_progress", "layout_approval"):
        assert (await transition(herald, tokens["staff"], request_id, to))["__typename"] == "TransitionRequestSuccess"
    seen = await herald.data("query R($id: ID!) { request(id: $id) { status { label description } nextStatus { key } } }",
                             {"id": request_id}, request["clientAccessToken"])
    assert seen["request"] == {"status": {"label": "Layout approval",
                                          "description": "Look at the layout and tell us what to change."},
                               "nextStatus": {"key": "in_progress"}}
    listed = await herald.data("{ workflows { key } }", token=tokens["staff"])
    assert [w["key"] for w in listed["workflows"]] == ["default", "website"]


async def test_transitions_follow_their_roles(herald, tokens):
    await save(herald, tokens["admin"], WEBSITE)
    request_id = (await create_request(herald, tokens["integration"], workflow="website"))["request"]["id"]
    await transition(herald, tokens["staff"], request_id, "closed")
    refused = await transition(herald, tokens["staff"], request_id, "in_progress")
    assert refused["__typename"] == "InvalidTransition" and refused["allowed"] == []
    assert (await transition(herald, tokens["admin"], request_id, "in_progress"))["__typename"] == "TransitionRequestSuccess"


def broken(change) -> dict:
    workflow = copy.deepcopy(WEBSITE)
    change(workflow)
    return workflow


@pytest.mark.parametrize("workflow, field", [
    (broken(lambda w: w.update(key="Web Sites")), "key"),
    (broken(lambda w: w["statuses"][1].update(key="received")), "statuses[1].key"),
    (broken(lambda w: w["statuses"][2].update(key="9lives")), "statuses[2].key"),
    (broken(lambda w: w["statuses"][0].update(label={"ru": "", "en": "Received"})), "statuses[0].label.ru"),
    (broken(lambda w: w.update(initial="nowhere")), "initial"),
    (broken(lambda w: w["transitions"].append({"from": "closed", "to": "limbo"})), "transitions[7].to"),
    (broken(lambda w: w["transitions"].append({"from": "received", "to": "in_progress"})), "transitions[7]"),
    (broken(lambda w: w["transitions"].append({"from": "completing", "to": "completing"})), "transitions[7]"),
    (broken(lambda w: w["transitions"][0].update(roles=["client"])), "transitions[0].roles"),
    (broken(lambda w: w["statuses"][4].update(terminal=False)), "statuses"),
    (broken(lambda w: w.update(transitions=[t for t in w["transitions"] if t["to"] != "layout_approval"])),
     "transitions"),
])
async def test_every_validation_error_is_data(herald, tokens, db, workflow, field):
    result = await save(herald, tokens["admin"], workflow)
    assert result["__typename"] == "ValidationError"
    assert field in [f["field"] for f in result["fields"]], result
    assert await db.workflows.count_documents({"_id": "website"}) == 0


async def test_only_admins_change_workflows_and_keys_are_unique(herald, tokens):
    body = await herald.graphql(CREATE, {"input": WEBSITE}, tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await save(herald, tokens["admin"], WEBSITE)
    again = await save(herald, tokens["admin"], WEBSITE)
    assert again["fields"] == [{"field": "key", "message": "a workflow 'website' exists already"}]
    missing = await save(herald, tokens["admin"], broken(lambda w: w.update(key="nope")), UPDATE)
    assert missing["fields"] == [{"field": "key", "message": "no workflow with key 'nope'"}]


async def test_a_workflow_edited_while_requests_are_in_flight(herald, tokens):
    await save(herald, tokens["admin"], WEBSITE)
    busy = (await create_request(herald, tokens["integration"], workflow="website"))["request"]["id"]
    await transition(herald, tokens["staff"], busy, "in_progress")
    await transition(herald, tokens["staff"], busy, "layout_approval")

    without_approval = broken(lambda w: (w["statuses"].pop(2), w.update(
        transitions=[t for t in w["transitions"] if "layout_approval" not in (t["from"], t["to"])]
        + [{"from": "in_progress", "to": "completing"}])))
    refused = await save(herald, tokens["admin"], without_approval, UPDATE)
    assert refused["fields"] == [{"field": "statuses",
                                  "message": "requests are still in 'layout_approval': move them first"}]

    await transition(herald, tokens["staff"], busy, "completing")
    assert (await save(herald, tokens["admin"], without_approval, UPDATE))["__typename"] == "WorkflowSuccess"
    # The request goes on under the new version, and the new transition works at once.
    assert (await transition(herald, tokens["staff"], busy, "closed"))["__typename"] == "TransitionRequestSuccess"
    other = (await create_request(herald, tokens["integration"], workflow="website"))["request"]["id"]
    await transition(herald, tokens["staff"], other, "in_progress")
    assert (await transition(herald, tokens["staff"], other, "completing"))["__typename"] == "TransitionRequestSuccess"


async def test_internal_statuses_under_one_client_label_do_not_notify(herald, tokens, db):
    support = {
        "key": "support", "name": text("Поддержка", "Support"), "initial": "new",
        "statuses": [
            {"key": "new", "label": text("Новая", "New")},
            {"key": "triage", "label": text("Разбор", "Triage"), "clientLabel": text("В работе", "In progress")},
            {"key": "fixing", "label": text("Исправление", "Fixing"), "clientLabel": text("В работе", "In progress")},
            {"key": "done", "label": text("Готово", "Done"), "terminal": True},
        ],
        "transitions": [{"from": "new", "to": "triage"}, {"from": "triage", "to": "fixing"},
                        {"from": "fixing", "to": "done"}],
    }
    assert (await save(herald, tokens["admin"], support))["__typename"] == "WorkflowSuccess"
    created = await create_request(herald, tokens["integration"], workflow="support")
    request_id = created["request"]["id"]
    next_status = "query R($id: ID!) { request(id: $id) { nextStatus { key label } } }"
    await transition(herald, tokens["staff"], request_id, "triage")
    seen_by_client = await herald.data(next_status, {"id": request_id}, created["clientAccessToken"])
    seen_by_staff = await herald.data(next_status, {"id": request_id}, tokens["staff"])
    assert seen_by_client["request"]["nextStatus"] == {"key": "done", "label": "Готово"}  # fixing looks the same
    assert seen_by_staff["request"]["nextStatus"] == {"key": "fixing", "label": "Исправление"}
    for to in ("fixing", "done"):
        await transition(herald, tokens["staff"], request_id, to)
    jobs = sorted(j["event_version"] for j in await db.notifications.find({"channel": "EMAIL"}).to_list())
    assert jobs == [1, 2, 4]  # created, new -> triage, fixing -> done; not triage -> fixing

    history = "query R($id: ID!) { request(id: $id) { history { to { label } } } }"
    client_view = await herald.data(history, {"id": request_id}, created["clientAccessToken"])
    staff_view = await herald.data(history, {"id": request_id}, tokens["staff"])
    assert [e["to"]["label"] for e in client_view["request"]["history"]] == ["Новая", "В работе", "В работе", "Готово"]
    assert [e["to"]["label"] for e in staff_view["request"]["history"]] == ["Новая", "Разбор", "Исправление", "Готово"]


async def mail_texts(herald, count: int, timeout: float = 15) -> list[str]:
    """The plain-text bodies of the .eml files Herald wrote (no SMTP_URL in these tests)."""
    folder = herald.settings.data_dir / "mail"
    for _ in range(int(timeout * 10)):
        files = sorted(folder.glob("*.eml")) if folder.exists() else []
        if len(files) >= count:
            return [email.message_from_bytes(f.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
                    for f in files]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"fewer than {count} messages in {folder}")


async def test_a_status_without_notify_and_a_custom_message(herald, tokens, db):
    quiet = broken(lambda w: (w["statuses"][1].update(notifyClient=False), w["statuses"][2].update(
        message=text("Макет готов для заявки {{ number }}: загляните в кабинет.", "The layout is ready."))))
    await save(herald, tokens["admin"], quiet)
    request_id = (await create_request(herald, tokens["integration"], workflow="website"))["request"]["id"]
    await transition(herald, tokens["staff"], request_id, "in_progress")
    await transition(herald, tokens["staff"], request_id, "layout_approval")
    versions = sorted(j["event_version"] for j in await db.notifications.find({"channel": "EMAIL"}).to_list())
    assert versions == [1, 3]
    texts = await mail_texts(herald, 2)
    assert any("Макет готов для заявки REQ-000001: загляните в кабинет." in t for t in texts)
