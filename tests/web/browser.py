"""Real-browser checks of the web pages: Debian's chromium at a phone's size, driven by Playwright.

How the tests use it (the fixtures are in ``tests/web/conftest.py``)::

    @pytest.fixture(scope="module")
    def site() -> Iterator[str]:
        with serve(make_the_web_app()) as base_url:   # any aiohttp web.Application
            yield base_url

    def test_the_first_question_fits_a_phone(phone: Phone, site: str) -> None:
        page = phone()                     # or phone(javascript=False, locale="es-ES")
        page.goto(site + "/")
        assert_no_horizontal_scroll(page)
        assert_tap_targets_at_least(page, 44)
        assert_body_text_at_least(page, 16)
        assert_accessible(page)
        shot(page, "first-question")       # test-output/screenshots/first-question.png

**Sync API, plain ``def`` tests, one browser per module.** The project runs pytest-asyncio in
auto mode. Playwright's sync API refuses to start inside a running event loop, and while it is
alive it marks its own loop as running in the main thread, so pytest-asyncio tests (and
``asyncio.run``) fail meanwhile. Its async API would instead need one loop shared by the browser
and every test using it, which pytest-asyncio's per-test loops do not give. So: the browser
tests are plain ``def`` tests with sync fixtures; the ``browser`` fixture lives for one module
and closes at its end, so async tests in other modules are never affected; a module with browser
tests holds only ``def`` tests (the conftest fails an ``async def`` one there with a message
saying so); and the web app under test runs in a thread with its own loop: :func:`serve`.

**No fixed sleeps.** ``page.goto`` waits for the ``load`` event, Playwright's locators and
``expect`` wait for their conditions, and every check here first waits for the ``load`` state.

**Content-Security-Policy stays in force.** axe-core is evaluated through the DevTools protocol
(``page.evaluate``), which a page's CSP does not govern, so even a ``script-src 'none'`` page is
checked without ``bypass_csp``; the contexts keep the page's real CSP, so a policy that breaks
the page's own scripts shows up in the tests (``tests/web/test_browser_helpers.py`` proves both).

**JavaScript off.** A context made with JavaScript off runs none of the page's scripts, but
``page.evaluate`` still works synchronously, so the layout checks work unchanged. axe-core's run
waits on ``setTimeout(…, 0)``, which never fires with scripting off; on those pages (the ones the
``phone`` fixture made with ``javascript=False``) the check first swaps ``setTimeout`` for a
promise job, which does run. No page script can notice: none runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from playwright.sync_api import Browser, Page, Playwright, ViewportSize

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where :func:`shot` writes its PNGs (``test-output/`` is git-ignored).
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"

#: Debian's chromium (``make test`` installs it with apt); the ``CHROMIUM`` variable overrides it.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: Headless, and nothing that reaches out to the network on its own: the test machines' network
#: is closed, and without these chromium stalls on connection attempts (sync, updates, QUIC…).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: A phone: an iPhone 12-15's CSS viewport, at its pixel density, with touch.
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
PHONE_SCALE = 3
#: Playwright's default is 30 s: a page that never shows up fails sooner than that.
TIMEOUT_MS = 15_000

#: Pages whose context runs no scripts (see "JavaScript off" above).
_SCRIPTS_OFF: weakref.WeakSet[Page] = weakref.WeakSet()


class Phone(Protocol):
    """The ``phone`` fixture: a new page in a new phone-sized context, closed after the test.

    ``javascript=False`` turns the page's scripts off; ``locale`` sets ``navigator.language`` and
    the ``Accept-Language`` header ("es-ES"); any other keyword goes to
    ``Browser.new_context`` (``color_scheme="dark"``, ``timezone_id="Europe/Madrid"``…).
    """

    def __call__(
        self, javascript: bool = True, *, locale: str = "en-US", **context_options: Any
    ) -> Page: ...


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM


def launch_chromium(playwright: Playwright) -> Browser:
    """The system chromium, headless and quiet (never ``playwright install``'s own build)."""
    path = chromium_path()
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no chromium at {path}: `make test` installs it "
            "(apt-get install chromium chromium-driver), or set CHROMIUM to a chromium binary"
        )
    return playwright.chromium.launch(
        executable_path=path, headless=True, args=list(CHROMIUM_ARGS), timeout=60_000
    )


def new_phone_page(
    browser: Browser, javascript: bool = True, *, locale: str = "en-US", **context_options: Any
) -> Page:
    """A page in a new phone context (what the ``phone`` fixture returns); close its context."""
    context = browser.new_context(
        viewport=PHONE_VIEWPORT,
        device_scale_factor=PHONE_SCALE,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
        locale=locale,
        **context_options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    if not javascript:
        _SCRIPTS_OFF.add(page)
    return page


# --- serving pages --------------------------------------------------------------------------


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """Serve an aiohttp app on 127.0.0.1 (a free port) from a thread with its own event loop.

    Yields the base URL, ``http://127.0.0.1:PORT``; stops the server and the loop on exit.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="web-test-server", daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> str:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


# --- screenshots ----------------------------------------------------------------------------


def shot(page: Page, name: str, folder: Path = SCREENSHOTS) -> Path:
    """Write a full-page PNG of ``page`` to ``folder/<name>.png`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "page"
    path = folder / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- checks ---------------------------------------------------------------------------------

#: ``describe(el)``: "button#go.big "Next"" — how the failure messages name elements.
_DESCRIBE = r"""
const describe = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  for (const c of el.classList) s += '.' + c;
  for (const a of ['name', 'type', 'role', 'href']) {
    if (el.hasAttribute(a)) s += `[${a}="${el.getAttribute(a).slice(0, 40)}"]`;
  }
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || '')
    .replace(/\s+/g, ' ').trim();
  if (text) s += ` "${text.length > 40 ? text.slice(0, 39) + '…' : text}"`;
  return s;
};
const size = (r) => `${Math.round(r.width * 10) / 10}×${Math.round(r.height * 10) / 10}`;
const shown = (el) => el.checkVisibility({visibilityProperty: true}) &&
  el.getClientRects().length > 0;
"""


def _settle(page: Page) -> None:
    page.wait_for_load_state("load")


def _fail(problems: list[str], headline: str) -> None:
    if problems:
        raise AssertionError(headline + "\n" + "\n".join(f"  - {p}" for p in problems))


def assert_no_horizontal_scroll(page: Page) -> None:
    """The page scrolls only up and down: ``documentElement.scrollWidth`` <= the phone's width.

    The width is the viewport Playwright was given (390 for :func:`new_phone_page`), not
    ``window.innerWidth``: in mobile emulation chromium widens ``innerWidth`` to fit content that
    sticks out (616 for a 600 px box in a 390 px phone), and lays a page without
    ``<meta name="viewport" content="width=device-width">`` out 980 px wide, zoomed out; both
    fail here, as they should. On failure, names the outermost elements reaching past the right
    (or left) edge, leaving out what an ``overflow`` container clips or scrolls in itself.
    """
    _settle(page)
    viewport = page.viewport_size
    found = page.evaluate(
        "(width) => {"
        + _DESCRIBE
        + r"""
  const layout = document.documentElement.clientWidth;
  width = width || layout;
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth <= width) return null;
  const out = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5);
  };
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body && a !== document.documentElement;
         a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const culprits = [...document.body.querySelectorAll('*')]
    .filter((el) => out(el) && !clipped(el) && !(el.parentElement && out(el.parentElement)))
    .map((el) => { const r = el.getBoundingClientRect();
      return `${describe(el)}: ${Math.round(r.left)}…${Math.round(r.right)} px`; });
  if (out(document.body)) culprits.unshift(`${describe(document.body)} itself`);
  return {width, layout, scrollWidth, culprits: culprits.slice(0, 10)};
}""",
        viewport["width"] if viewport else 0,
    )
    if found is not None:
        culprits = found["culprits"] or ["(no single element: check margins and transforms)"]
        hint = ""
        if found["layout"] > found["width"]:
            hint = (
                f" (laid out {found['layout']} px wide: is "
                '<meta name="viewport" content="width=device-width, initial-scale=1"> missing?)'
            )
        _fail(
            culprits,
            f"{page.url} scrolls sideways: {found['scrollWidth']} px wide on a "
            f"{found['width']} px wide screen{hint}; what sticks out:",
        )


def assert_tap_targets_at_least(page: Page, size: float = 44) -> None:
    """Every visible control is at least ``size`` x ``size`` CSS px (WCAG 2.5.5, Apple's 44).

    Controls: ``a, button, input, select, textarea, summary, [role=button]``. Visible: shown
    (not ``display: none``/``visibility: hidden``), larger than 1 x 1 px (the visually-hidden
    pattern) and not parked off the page's top or left edge (a skip link until focused).
    Two exceptions:

    * a link in running text — an ``a`` displayed ``inline`` inside a ``<p>`` — may be the
      text's own height (WCAG 2.5.8's inline exception); a link anywhere else may not;
    * a checkbox or radio button passes when one of its ``<label>``s is at least ``size`` x
      ``size``: tapping the label ticks it, so the label is the target.
    """
    _settle(page)
    problems: list[str] = page.evaluate(
        "(min) => {"
        + _DESCRIBE
        + r"""
  const big = (r) => r.width >= min - 0.01 && r.height >= min - 0.01;
  const controls = document.querySelectorAll(
    'a, button, input, select, textarea, summary, [role=button]');
  const problems = [];
  for (const el of controls) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    if (r.right + window.scrollX <= 0 || r.bottom + window.scrollY <= 0) continue;
    if (big(r)) continue;
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.closest('p')) {
      continue;
    }
    if (el.tagName === 'INPUT' && (el.type === 'checkbox' || el.type === 'radio') &&
        [...(el.labels || [])].some((l) => shown(l) && big(l.getBoundingClientRect()))) {
      continue;
    }
    problems.push(`${describe(el)}: ${size(r)} px`);
  }
  return problems;
}""",
        size,
    )
    _fail(problems, f"{page.url}: tap targets smaller than {size}×{size} CSS px:")


def assert_body_text_at_least(page: Page, size: float = 16) -> None:
    """Every visible element with text of its own has a computed ``font-size`` ≥ ``size`` px.

    "Text of its own": a non-blank text node as a direct child (an element that only wraps
    other elements is judged through them). Text fields and menus (``input``, ``select``,
    ``textarea``) count too, whatever their value: below 16 px iOS zooms into them on focus.
    """
    _settle(page)
    problems: list[str] = page.evaluate(
        "(min) => {"
        + _DESCRIBE
        + r"""
  const notText = new Set(['checkbox', 'radio', 'hidden', 'range', 'color', 'file', 'image',
                           'submit', 'reset', 'button']);
  const problems = [];
  for (const el of document.body.querySelectorAll('*')) {
    const field = (el.tagName === 'INPUT' && !notText.has(el.type)) ||
      el.tagName === 'SELECT' || el.tagName === 'TEXTAREA';
    const ownText = [...el.childNodes].some(
      (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
    if (!(field || ownText) || !shown(el)) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < min - 0.01) problems.push(`${describe(el)}: ${px} px`);
  }
  return problems;
}""",
        size,
    )
    _fail(problems, f"{page.url}: text smaller than {size} px:")


#: axe-core as axe-playwright-python bundles it (nothing is fetched at run time).
AXE_JS = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
FAILING_IMPACTS = ("serious", "critical")

#: Run on pages without scripting: ``setTimeout(f, 0)`` becomes a promise job (see the module's
#: docstring); longer timeouts are axe's own guards and are left to never fire.
_TIMERS_WITHOUT_SCRIPTING = r"""() => {
  window.setTimeout = (fn, ms, ...args) => {
    if (!ms) Promise.resolve().then(() => fn(...args));
    return 0;
  };
  window.clearTimeout = () => {};
}"""


def _targets(targets: list[list[Any]], snippets: list[str], most: int = 10) -> str:
    """axe's elements: selector (a frame's or shadow root's path joined by ">>>") and HTML."""

    def one(target: list[Any]) -> str:
        return " >>> ".join(part if isinstance(part, str) else " ".join(part) for part in target)

    def cut(html: str) -> str:
        html = " ".join(html.split())
        return html if len(html) <= 80 else html[:79] + "…"

    lines = [f"      {one(t)}: {cut(h)}" for t, h in zip(targets[:most], snippets, strict=False)]
    if len(targets) > most:
        lines.append(f"      and {len(targets) - most} more")
    return "\n".join(lines)


def assert_accessible(page: Page) -> list[dict[str, Any]]:
    """axe-core finds no ``serious`` or ``critical`` problem on the page.

    Runs every rule axe runs by default (WCAG 2.0-2.2 A/AA and best practices) on the whole
    document. Fails listing each such violation's id, impact, help text and the selectors of the
    elements concerned; returns all violations (minor and moderate too) for tests that want more.
    """
    _settle(page)
    if page.evaluate("typeof window.axe === 'undefined'"):
        if page in _SCRIPTS_OFF:
            page.evaluate(_TIMERS_WITHOUT_SCRIPTING)
        page.evaluate(AXE_JS)
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map((v) => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                          targets: v.nodes.map((n) => n.target),
                          html: v.nodes.map((n) => n.html)}))"""
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} ({v['helpUrl']})\n"
        + _targets(v["targets"], v["html"])
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]
    _fail(problems, f"{page.url}: axe-core found serious or critical accessibility problems:")
    return violations
