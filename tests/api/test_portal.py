"""The client's cabinet in a real browser (Debian's Chromium through Playwright), against
Herald under uvicorn on a real database: opening it from portalUrl, live updates and
reconnection, feedback, settings, languages, escaping, headers, a phone screen."""

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from bson import ObjectId
from playwright.async_api import Page, expect

from api.app import create_app
from db.client import now
from db.tokens import create_token, hash_token
from tests.conftest import Herald, create_request, start_server, stop_server, transition

TOKEN_KEY = "herald.portal.token"
FEEDBACK_OF = "query Feedback($id: ID!) { request(id: $id) { feedback { rating comment } client { locale channels } } }"


def portal_url(herald: Herald, created: dict) -> str:
    """createRequest's portalUrl, on the test server instead of the configured public address."""
    url = created["portalUrl"]
    assert url.startswith(f"{herald.settings.public_url}/portal#token=")
    return herald.base_url + url.removeprefix(herald.settings.public_url)


async def open_portal(page: Page, herald: Herald, created: dict):
    """Opens the portal from the request's link; returns its card once the page is live."""
    await page.goto(portal_url(herald, created))
    card = page.locator(f"article[data-request='{created['request']['number']}']")
    await expect(card).to_be_visible()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return card


async def closed_request(herald: Herald, tokens: dict, **overrides) -> dict:
    created = await create_request(herald, tokens["integration"], **overrides)
    for to in ("in_progress", "completing", "closed"):
        assert (await transition(herald, tokens["staff"], created["request"]["id"], to))[
            "__typename"] == "TransitionRequestSuccess"
    return created


async def versions(card) -> list[int]:
    return [int(v) for v in await card.locator(".timeline .event").evaluate_all("els => els.map(e => e.dataset.version)")]


async def test_the_portal_shows_the_request_and_follows_it_live(herald, tokens, page):
    created = await create_request(herald, tokens["integration"], title="Сайт-визитка для кофейни")
    card = await open_portal(page, herald, created)

    # The token left the address bar for sessionStorage.
    assert page.url == f"{herald.base_url}/portal"
    assert await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == created["clientAccessToken"]
    assert await page.evaluate("document.documentElement.lang") == "ru"
    await expect(card.locator(".number")).to_have_text(created["request"]["number"])
    await expect(card.locator(".title")).to_have_text("Сайт-визитка для кофейни")
    await expect(card.locator(".badge")).to_have_text("Статус: Заявка получена")
    await expect(card.locator(".next")).to_have_text("В обработке")
    await expect(card.locator(".updated")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    await expect(card.locator(".contact-none")).to_be_visible()
    assert await versions(card) == [1]

    await page.evaluate("window.stillTheSamePage = true")
    started = time.monotonic()
    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress", comment="Начали работу")
    await expect(card.locator(".badge")).to_have_text("Статус: В обработке", timeout=2000)
    assert time.monotonic() - started < 2
    await expect(card.locator(".next")).to_have_text("Завершение")
    assert await versions(card) == [1, 2]
    await expect(card.locator(".timeline .event").last).to_contain_text("Начали работу")
    announcer = page.locator("#announcer")
    assert await announcer.get_attribute("aria-live") == "polite"
    await expect(announcer).to_have_text(f"Заявка {created['request']['number']}: новый статус — В обработке")
    assert await page.evaluate("window.stillTheSamePage") is True
    assert page.problems == []


@dataclass
class Instance:
    """A Herald server a test can stop and start again, on the same port and database."""

    settings: object
    server: object
    task: object
    port: int
    herald: Herald

    @classmethod
    async def start(cls, settings, port: int = 0) -> "Instance":
        server, task, port = await start_server(create_app(settings), port)
        base_url = f"http://127.0.0.1:{port}"
        return cls(settings, server, task, port, Herald(settings, base_url, httpx.AsyncClient(base_url=base_url)))

    async def stop(self) -> None:
        await self.herald.http.aclose()
        await stop_server(self.server, self.task)


async def test_after_a_server_restart_the_page_shows_what_it_missed_in_order(settings, db, page):
    staff = await create_token(db, role="staff", name="Olga")
    served = await Instance.start(settings)
    try:
        created = await create_request(served.herald, staff)
        request_id = created["request"]["id"]
        card = await open_portal(page, served.herald, created)

        await served.stop()
        connection = page.locator("#connection")
        await expect(connection).to_have_attribute("data-state", "reconnecting")
        await expect(connection).to_contain_text("переподключаемся")
        # Two transitions land through another instance while the page's server is down.
        other = await Instance.start(settings)
        try:
            await transition(other.herald, staff, request_id, "in_progress", comment="первый шаг")
            await transition(other.herald, staff, request_id, "completing", comment="второй шаг")
        finally:
            await other.stop()
        served = await Instance.start(settings, port=served.port)

        await expect(connection).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(card.locator(".badge")).to_have_text("Статус: Завершение")
        assert await versions(card) == [1, 2, 3]
        events = card.locator(".timeline .event")
        await expect(events.nth(1)).to_contain_text("первый шаг")
        await expect(events.nth(2)).to_contain_text("второй шаг")
    finally:
        await served.stop()


async def test_a_dropped_socket_resubscribes_from_the_last_version_shown(herald, tokens, page):
    sockets = []

    def relay(ws):  # the page's WebSockets pass through here, so the test can cut them
        ws.connect_to_server()
        sockets.append(ws)

    await page.route_web_socket(re.compile(r"/graphql$"), relay)
    created = await create_request(herald, tokens["integration"])
    request_id = created["request"]["id"]
    card = await open_portal(page, herald, created)
    await transition(herald, tokens["staff"], request_id, "in_progress")
    assert len(sockets) == 1
    await expect(card.locator(".badge")).to_have_text("Статус: В обработке")

    await sockets[0].close(code=1011, reason="cut by the test")
    await transition(herald, tokens["staff"], request_id, "completing", comment="третья версия")
    await transition(herald, tokens["staff"], request_id, "in_progress", comment="четвёртая версия")

    await expect(card.locator(".timeline .event")).to_have_count(4, timeout=10_000)
    assert await versions(card) == [1, 2, 3, 4]
    await expect(card.locator(".badge")).to_have_text("Статус: В обработке")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert len(sockets) == 2
    # One more change after the reconnection arrives once.
    await transition(herald, tokens["staff"], request_id, "completing")
    await expect(card.locator(".timeline .event")).to_have_count(5)
    assert await versions(card) == [1, 2, 3, 4, 5]


async def test_feedback_after_closure(herald, tokens, page):
    created = await closed_request(herald, tokens)
    card = await open_portal(page, herald, created)
    await expect(card.locator(".badge")).to_have_text("Статус: Закрыто")
    await expect(card.locator(".next")).to_have_text("Ничего: заявка закрыта")
    form = card.locator("form.feedback-form")
    await expect(form).to_be_visible()

    await form.locator("label.star").nth(3).click()
    await expect(form.get_by_role("radio", name="4 звезды: хорошо")).to_be_checked()
    await form.get_by_label("Комментарий (необязательно)").fill("Всё отлично,\nспасибо!")
    await form.get_by_role("button", name="Отправить отзыв").click()

    await expect(card.locator(".thanks-title")).to_have_text("Спасибо за отзыв!")
    await expect(card.locator(".thanks-title")).to_be_focused()
    await expect(card.locator(".stars-shown")).to_have_attribute("aria-label", "Ваша оценка: 4 из 5")
    await expect(form).to_have_count(0)
    # The FEEDBACK_LEFT event arrives live and joins the history once.
    await expect(card.locator(".timeline .event").last).to_contain_text("Получен ваш отзыв")
    assert await versions(card) == [1, 2, 3, 4, 5]
    stored = await herald.data(FEEDBACK_OF, {"id": created["request"]["id"]}, tokens["staff"])
    assert stored["request"]["feedback"] == {"rating": 4, "comment": "Всё отлично,\nспасибо!"}

    await page.reload()  # the token is kept for the session: no link needed
    await expect(card.locator(".thanks-title")).to_be_visible()
    await expect(card.locator("form.feedback-form")).to_have_count(0)
    assert page.problems == []


async def test_a_bad_rating_shows_an_error_beside_the_stars(herald, tokens, page):
    created = await closed_request(herald, tokens)
    card = await open_portal(page, herald, created)
    form = card.locator("form.feedback-form")
    error = form.locator(".field-error[data-field=rating]")
    send = form.get_by_role("button", name="Отправить отзыв")

    await send.click()  # no star chosen
    await expect(error).to_have_text("Выберите оценку от 1 до 5 звёзд.")
    await expect(form.locator(".star-input").first).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".star-input").first).to_be_focused()
    error_id = await error.get_attribute("id")
    assert error_id in await form.locator(".star-input").first.get_attribute("aria-describedby")

    # A tampered control sends 9: the server refuses it, and its answer shows beside the field.
    await form.locator(".star-input").nth(4).evaluate("input => { input.value = '9'; }")
    await form.locator("label.star").nth(4).click()
    async with page.expect_response(lambda r: r.url.endswith("/graphql")) as answer:
        await send.click()
    body = await (await answer.value).json()
    assert body["data"]["leaveFeedback"]["fields"] == [{"field": "rating", "message": "must be from 1 to 5"}]
    await expect(error).to_have_text("Оценка должна быть от 1 до 5 звёзд.")
    await expect(form).to_be_visible()
    stored = await herald.data(FEEDBACK_OF, {"id": created["request"]["id"]}, tokens["staff"])
    assert stored["request"]["feedback"] is None


async def test_feedback_with_the_keyboard_alone(herald, tokens, page):
    created = await closed_request(herald, tokens)
    card = await open_portal(page, herald, created)
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.classList.contains('star-input')"):
            break
    else:
        pytest.fail("Tab never reached the rating stars")
    # The focused star shows a visible focus ring.
    ring = await page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
    assert ring == "solid"
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await expect(card.get_by_role("radio", name="4 звезды: хорошо")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(card.get_by_label("Комментарий (необязательно)")).to_be_focused()
    await page.keyboard.type("Быстро и аккуратно")
    await page.keyboard.press("Tab")
    await expect(card.get_by_role("button", name="Отправить отзыв")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(card.locator(".thanks-title")).to_be_focused()
    stored = await herald.data(FEEDBACK_OF, {"id": created["request"]["id"]}, tokens["staff"])
    assert stored["request"]["feedback"] == {"rating": 4, "comment": "Быстро и аккуратно"}


async def test_html_from_the_api_shows_as_text(herald, tokens, page):
    title = '<script>alert("title")</script><img src=x onerror=alert("img")>'
    comment = '<b>bold</b><img src=x onerror=alert("comment")>'
    created = await create_request(herald, tokens["integration"], title=title,
                                   client={"name": "<i>Анна</i>", "email": "anna@example.ru"})
    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress", comment=comment)
    card = await open_portal(page, herald, created)
    await expect(card.locator(".title")).to_have_text(title)
    await expect(card.locator(".event-comment")).to_have_text(comment)
    await expect(page.locator(".intro h1")).to_have_text("Здравствуйте, <i>Анна</i>!")
    assert await page.locator("main script, main img, main b, main i").count() == 0
    assert page.problems == []


async def test_a_wrong_token_gets_a_clear_page(herald, page):
    await page.goto(f"{herald.base_url}/portal#token=hrl_not-a-real-token")
    message = page.locator("[data-view=auth-error]")
    await expect(message.locator("h1")).to_have_text("Ссылка больше не действует")
    await expect(message).to_contain_text("Откройте ссылку из последнего сообщения")
    assert page.url == f"{herald.base_url}/portal"
    assert await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None


async def test_without_a_token_the_page_says_where_the_link_is(herald, page):
    await page.goto(f"{herald.base_url}/portal")
    await expect(page.locator("[data-view=no-token] h1")).to_have_text("Откройте ссылку из сообщения")
    await page.get_by_role("button", name="EN — English").click()
    await expect(page.locator("[data-view=no-token] h1")).to_have_text("Open the link from your message")
    assert page.problems == []


async def test_a_failed_load_offers_to_try_again(herald, tokens, page):
    created = await create_request(herald, tokens["integration"])
    await page.route("**/graphql", lambda route: route.abort("connectionrefused"))
    await page.goto(portal_url(herald, created))
    message = page.locator("[data-view=load-error]")
    await expect(message.locator("h1")).to_have_text("Не удалось загрузить заявки")
    await page.unroute("**/graphql")
    await message.get_by_role("button", name="Попробовать снова").click()
    await expect(page.locator(f"article[data-request='{created['request']['number']}']")).to_be_visible()


async def test_a_token_that_expires_while_connected_ends_on_the_error_page(herald, tokens, db, page):
    sockets = []

    def relay(ws):
        ws.connect_to_server()
        sockets.append(ws)

    await page.route_web_socket(re.compile(r"/graphql$"), relay)
    created = await create_request(herald, tokens["integration"])
    await open_portal(page, herald, created)
    await db.tokens.update_one({"_id": hash_token(created["clientAccessToken"])},
                               {"$set": {"expires_at": now() - timedelta(seconds=1)}})
    await sockets[0].close(code=1011, reason="cut by the test")
    # The reconnection's connection_init is refused with 4403.
    await expect(page.locator("[data-view=auth-error] h1")).to_have_text("Ссылка больше не действует")
    await expect(page.locator("#connection")).to_be_hidden()


async def test_the_page_speaks_the_client_language_and_switches(herald, tokens, page):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Kate", "email": "kate@example.com", "locale": "en"})
    card = await open_portal(page, herald, created)
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.locator(".intro h1")).to_have_text("Hello, Kate!")
    await expect(card.locator(".badge")).to_have_text("Status: Received")
    await expect(page.get_by_role("button", name="EN — English")).to_have_attribute("aria-pressed", "true")

    await page.get_by_role("button", name="RU — Русский").click()
    await expect(page.locator(".intro h1")).to_have_text("Здравствуйте, Kate!")
    await expect(card.locator(".badge")).to_have_text("Статус: Заявка получена")  # relabelled by the API
    await expect(card.locator(".timeline .event-what")).to_have_text(["Заявка получена"])
    assert await page.evaluate("document.documentElement.lang") == "ru"
    stored = await herald.data(FEEDBACK_OF, {"id": created["request"]["id"]}, tokens["staff"])
    assert stored["request"]["client"]["locale"] == "ru"
    # Live labels follow the new language too.
    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress")
    await expect(card.locator(".badge")).to_have_text("Статус: В обработке")
    assert page.problems == []


@pytest.fixture
def settings(settings):
    """Open sockets' tokens are checked every half second here (5 s by default)."""
    return settings.model_copy(update={"ws_token_check_s": 0.5})


async def test_the_client_replaces_its_link_and_the_page_stays_live(herald, tokens, page):
    created = await create_request(herald, tokens["integration"])
    card = await open_portal(page, herald, created)
    settings = page.locator("section.settings")
    await settings.get_by_role("button", name="Заменить ссылку").click()
    await expect(settings.locator(".renew-status")).to_contain_text("старая ссылка больше не откроется")
    old = await herald.http.post("/graphql", json={"query": "{ viewer { role } }"},
                                 headers={"Authorization": f"Bearer {created['clientAccessToken']}"})
    assert old.status_code == 401
    await asyncio.sleep(1)  # past the server's check of open sockets' tokens (0.5 s in these tests)
    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress")
    await expect(card.locator(".badge")).to_have_text("Статус: В обработке", timeout=2000)
    assert page.problems == []


async def test_notification_settings_are_saved(herald, tokens, page):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    await open_portal(page, herald, created)
    settings = page.locator("section.settings")
    email, sms = settings.get_by_role("checkbox", name=re.compile("Эл. почта")), settings.get_by_role(
        "checkbox", name=re.compile("SMS"))
    await expect(email).to_be_checked()
    await expect(sms).to_be_checked()
    await sms.uncheck()
    await settings.get_by_role("button", name="Сохранить").click()
    await expect(settings.locator(".form-status")).to_have_text("Сохранено.")
    await expect(settings.get_by_role("checkbox", name=re.compile("SMS"))).not_to_be_checked()
    stored = await herald.data(FEEDBACK_OF, {"id": created["request"]["id"]}, tokens["staff"])
    assert stored["request"]["client"] == {"locale": "ru", "channels": ["EMAIL"]}
    assert page.problems == []


async def test_only_channels_with_contact_details_are_offered(herald, tokens, page):
    created = await create_request(herald, tokens["integration"])  # email only
    await open_portal(page, herald, created)
    boxes = page.locator("section.settings input[type=checkbox]")
    await expect(boxes).to_have_count(1)
    assert await boxes.get_attribute("value") == "EMAIL"


async def test_the_delivery_status_of_messages_shows(settings, db, page):
    # Mail goes to .eml files; the SMS gateway is down and one attempt is all there is.
    served = await Instance.start(settings.model_copy(update={
        "sms_gateway_url": "http://127.0.0.1:9/send", "notify_max_attempts": 1}))
    try:
        integration = await create_token(db, role="integration", name="Form")
        staff = await create_token(db, role="staff", name="Olga")
        created = await create_request(served.herald, integration,
                                       client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
        card = await open_portal(page, served.herald, created)
        messages = card.locator("details.messages")
        await messages.locator("summary").click()
        await expect(messages.locator("summary")).to_have_text("Сообщения о заявке (2)")
        groups = messages.locator(".delivery-group")
        await expect(groups.locator(".delivery-about")).to_have_text(["Заявка получена"])
        await expect(groups.locator(".delivery")).to_have_text([
            "Эл. почта: отправлено", "SMS: не удалось доставить (попыток: 1)"], timeout=10_000)
        # Messages about a new event show up as they are sent.
        await transition(served.herald, staff, created["request"]["id"], "in_progress")
        await expect(groups.locator(".delivery-about")).to_have_text(["Заявка получена", "В обработке"],
                                                                     timeout=10_000)
        await expect(groups.nth(1).locator(".delivery")).to_have_text([
            "Эл. почта: отправлено", "SMS: не удалось доставить (попыток: 1)"], timeout=10_000)
    finally:
        await served.stop()


async def test_the_portal_is_served_with_a_strict_policy(herald):
    response = await herald.http.get("/portal")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = {d.split()[0]: d.split()[1:] for d in response.headers["content-security-policy"].split("; ")}
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    host = httpx.URL(herald.base_url).netloc.decode()
    assert policy["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"]
    assert "unsafe" not in response.headers["content-security-policy"]

    # No inline script, and everything the page loads comes from Herald, with the same headers.
    page = response.text
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/portal/static/js/main.js">']
    assert "style=" not in page
    for path in re.findall(r'(?:src|href)="(/portal/static/[^"]+)"', page):
        asset = await herald.http.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["x-content-type-options"] == "nosniff"
    script = await herald.http.get("/portal/static/js/main.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await herald.http.get("/portal/static/../../app.py")).status_code == 404


def test_the_static_files_load_nothing_from_elsewhere():
    from api.portal import STATIC

    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text()
            outside = re.findall(r"(?:https?:)?//[\w.-]+\.\w+", text.replace('xmlns="http://www.w3.org/2000/svg"', ""))
            assert outside == [], f"{path.name} refers to {outside}"
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path.name


async def test_a_phone_screen(herald, tokens, browser, artifacts):
    created = await create_request(
        herald, tokens["integration"], title="Сайт-визитка для кофейни «Зерно»", service="website",
        client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    request_id = created["request"]["id"]
    await herald.data(ASSIGN, {"input": {"id": request_id, "assignee": {
        "name": "Ольга Смирнова", "email": "olga@studio.example", "phone": "+79120001122"}}}, tokens["staff"])
    for to, comment in [("in_progress", "Дизайнер готовит макет главной страницы."),
                        ("completing", "Сайт на проверке: посмотрите, пожалуйста, ссылку в письме."),
                        ("closed", "Сайт запущен. Спасибо, что выбрали нас!")]:
        await transition(herald, tokens["staff"], request_id, to, comment=comment)
    context = await browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="ru-RU")
    try:
        page = await context.new_page()
        card = await open_portal(page, herald, created)
        await expect(card.locator("form.feedback-form")).to_be_visible()
        await card.locator("details.messages summary").click()
        await expect(card.locator(".delivery-state").first).to_have_text("отправлено", timeout=10_000)
        # Nothing is wider than the screen: no sideways scrolling.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await page.screenshot(path=artifacts / "portal-360.png", full_page=True, animations="disabled")
    finally:
        await context.close()
    assert (artifacts / "portal-360.png").stat().st_size > 10_000


async def test_the_closing_message_link_goes_to_the_feedback_form(herald, tokens, page):
    created = await closed_request(herald, tokens)
    await page.goto(portal_url(herald, created) + "&feedback=1")  # what the closing message links to
    await expect(page.locator(".feedback-form .feedback-title")).to_be_focused()
    assert page.url == f"{herald.base_url}/portal"


SITE_WORKFLOW = {
    "key": "site", "name": {"ru": "Сайт", "en": "Website"}, "initial": "new",
    "statuses": [
        {"key": "new", "label": {"ru": "Новая", "en": "New"}},
        {"key": "design", "label": {"ru": "Дизайн", "en": "Design"},
         "clientLabel": {"ru": "В работе", "en": "In progress"},
         "description": {"ru": "Мы делаем ваш сайт.", "en": "We are building your site."}},
        {"key": "development", "label": {"ru": "Разработка", "en": "Development"},
         "clientLabel": {"ru": "В работе", "en": "In progress"},
         "description": {"ru": "Мы делаем ваш сайт.", "en": "We are building your site."}},
        {"key": "review", "label": {"ru": "Проверка", "en": "Review"}},
        {"key": "done", "label": {"ru": "Готово", "en": "Done"}, "terminal": True},
    ],
    "transitions": [{"from": "new", "to": "design"}, {"from": "design", "to": "development"},
                    {"from": "development", "to": "review"}, {"from": "review", "to": "done"}],
}
CREATE_WORKFLOW = """
mutation Create($input: WorkflowInput!) { createWorkflow(input: $input) { __typename } }
"""


async def test_statuses_that_look_alike_to_the_client_show_as_one(herald, tokens, page):
    made = await herald.data(CREATE_WORKFLOW, {"input": SITE_WORKFLOW}, tokens["admin"])
    assert made["createWorkflow"]["__typename"] == "WorkflowSuccess"
    created = await create_request(herald, tokens["integration"], workflow="site")
    request_id = created["request"]["id"]
    card = await open_portal(page, herald, created)
    await expect(card.locator(".badge")).to_have_text("Статус: Новая")
    await expect(card.locator(".next")).to_have_text("В работе")

    await transition(herald, tokens["staff"], request_id, "design")
    await expect(card.locator(".badge")).to_have_text("Статус: В работе")
    await expect(card.locator(".status-description")).to_have_text("Мы делаем ваш сайт.")
    await expect(card.locator(".next")).to_have_text("Проверка")  # not "В работе" again
    await transition(herald, tokens["staff"], request_id, "development")  # no news for the client
    await transition(herald, tokens["staff"], request_id, "review", comment="Посмотрите, пожалуйста")
    await expect(card.locator(".badge")).to_have_text("Статус: Проверка")
    await expect(card.locator(".event-what")).to_have_text(["Новая", "В работе", "Проверка"])
    assert await versions(card) == [1, 2, 4]


ASSIGN = """
mutation Assign($input: AssignRequestInput!) { assignRequest(input: $input) { __typename } }
"""
COMMENT = """
mutation Comment($input: AddCommentInput!) { addComment(input: $input) { __typename } }
"""


async def test_the_contact_person_and_public_comments_arrive_live(herald, tokens, page):
    created = await create_request(herald, tokens["integration"])
    request_id = created["request"]["id"]
    card = await open_portal(page, herald, created)
    await expect(card.locator(".contact-none")).to_be_visible()

    assigned = await herald.data(ASSIGN, {"input": {"id": request_id, "assignee": {
        "name": "Ольга", "email": "olga@studio.example", "phone": "+7 912 000-11-22"}}}, tokens["staff"])
    assert assigned["assignRequest"]["__typename"] == "AssignRequestSuccess"
    contact = card.locator(".contact")
    await expect(contact.locator(".contact-name")).to_have_text("Ольга")
    await expect(contact.get_by_role("link", name="olga@studio.example")).to_have_attribute(
        "href", "mailto:olga@studio.example")
    await expect(contact.locator("a[href^='tel:']")).to_have_attribute("href", re.compile(r"^tel:\+7912"))
    await expect(card.locator(".event-what").last).to_have_text("Ваш контакт: Ольга")

    for body, public in (("Черновик для коллег", False), ("Макет готов, посмотрите письмо", True)):
        added = await herald.data(COMMENT, {"input": {"id": request_id, "body": body, "public": public}},
                                  tokens["staff"])
        assert added["addComment"]["__typename"] == "AddCommentSuccess"
    last = card.locator(".timeline .event").last
    await expect(last.locator(".event-what")).to_have_text("Комментарий")
    await expect(last.locator(".event-author")).to_have_text(" · Staff Tester")
    await expect(last.locator(".event-comment")).to_have_text("Макет готов, посмотрите письмо")
    await expect(card.locator(".event-comment")).to_have_count(1)  # the internal one never shows
    await expect(page.locator("#announcer")).to_have_text(f"Заявка {created['request']['number']} обновлена")

    await page.reload()  # the same history when read from scratch
    await expect(card.locator(".event-what")).to_have_text(["Заявка получена", "Ваш контакт: Ольга", "Комментарий"])
    assert page.problems == []

