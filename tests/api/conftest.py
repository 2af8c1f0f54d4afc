"""A real browser for the portal's tests: Playwright driving Debian's Chromium.

Playwright's own browser download does not work here (and is not wanted): `make test`
installs the `chromium` Debian package when /usr/bin/chromium is missing.
"""

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
async def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def browser_context(browser):
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="ru-RU")
    yield context
    await context.close()


@pytest.fixture
async def page(browser_context) -> Page:
    """A fresh page; page.problems collects its console errors, uncaught exceptions and dialogs."""
    page = await browser_context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    async def on_dialog(dialog):  # an alert() would be script run from data: never expected
        problems.append(f"dialog opened: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.problems = problems
    yield page


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
