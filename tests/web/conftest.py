"""Fixtures for the real-browser tests of the web pages (see ``tests/web/browser.py``).

* ``browser`` (module): Debian's headless chromium, started on first use, closed at the module's
  end (why not per session: its docstring);
* ``phone(javascript=True, *, locale="en-US", **context_options) -> Page``: a new 390x844 phone
  page (3x pixels, touch) in a context of its own, closed after the test;
* ``screenshots``: the folder ``test-output/screenshots/`` (made if missing), where
  ``shot(page, name)`` writes.

The tests that use them are plain ``def`` tests (the module docstring of ``browser.py`` says why).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.web.browser import SCREENSHOTS, Phone, launch_chromium, new_phone_page

#: Whether a Playwright (and its event loop, see ``browser``) is alive in this thread.
_playwright_alive = False


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module (each test gets its own context, so nothing is shared).

    Per module, not per session: while Playwright's sync API is alive it marks its own event loop
    as running in the main thread, and every pytest-asyncio test run meanwhile fails ("Cannot run
    the event loop while another loop is running"). A module's tests run together, so closing it
    at the module's end keeps the async tests elsewhere safe; a module using it holds only plain
    ``def`` tests (``pytest_runtest_setup`` below says so plainly if one is ``async``).
    """
    global _playwright_alive
    with sync_playwright() as playwright:
        _playwright_alive = True
        try:
            try:
                chromium = launch_chromium(playwright)
            except RuntimeError as error:
                pytest.fail(str(error), pytrace=False)
            yield chromium
            chromium.close()
        finally:
            _playwright_alive = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """An ``async def`` test beside browser tests would fail obscurely: fail it clearly."""
    if _playwright_alive and inspect.iscoroutinefunction(getattr(item, "obj", None)):
        pytest.fail(
            f"{item.name}: an async test cannot run while this module's browser is open "
            "(Playwright's sync API holds the event loop): move it to a module of its own",
            pytrace=False,
        )


@pytest.fixture
def phone(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Phone]:
    """Make phone pages: ``page = phone()``, ``phone(javascript=False, locale="es-ES")``."""
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        pytest.fail(
            f"{request.node.name}: browser tests are plain `def` tests: Playwright's sync API "
            "does not run inside pytest-asyncio's event loop (see tests/web/browser.py)",
            pytrace=False,
        )
    contexts: list[BrowserContext] = []

    def make(javascript: bool = True, *, locale: str = "en-US", **context_options: Any) -> Page:
        page = new_phone_page(browser, javascript, locale=locale, **context_options)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots() -> Path:
    """``test-output/screenshots/`` at the repository's root, where ``shot()`` writes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
