"""The browser fixtures and checks of ``tests/web/browser.py``, on small pages served here."""

from __future__ import annotations

import html
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.web.browser import (
    PHONE_SCALE,
    Phone,
    assert_accessible,
    assert_body_text_at_least,
    assert_no_horizontal_scroll,
    assert_tap_targets_at_least,
    serve,
    shot,
)

STYLE = """
body { margin: 0; padding: 16px; font: 16px/1.5 sans-serif; color: #111; background: #fff; }
a { color: #0645ad; }
button, input { font-size: 16px; min-height: 48px; min-width: 48px; }
.choice { display: flex; align-items: center; gap: 8px; min-height: 48px; }
"""
PIXEL = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/%3E"


def document(body: str, title: str = "A test page") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body><main>{body}</main></body></html>"""


GOOD = """
<h1 id="heading">Django or Node.js?</h1>
<p>Answer a few questions, or read <a href="/about">how it works</a> first.</p>
<form>
  <label for="name">Your name</label>
  <input id="name" name="name" autocomplete="name">
  <label class="choice"><input type="radio" name="team" value="small"> A small team</label>
  <button type="submit">Next</button>
</form>
<img src="PIXEL" alt="The result's chart" width="80" height="80">
""".replace("PIXEL", PIXEL)

PAGES = {
    "good": document(GOOD),
    "wide": document(GOOD + '<div class="banner" style="width: 600px">A wide banner</div>'),
    "tiny-button": document(
        GOOD + '<button class="tiny" style="width: 20px; height: 20px; min-height: 0; '
        'min-width: 0; padding: 0" aria-label="Close">×</button>'
    ),
    "loose-link": document(GOOD + '<div class="footer"><a href="/terms">Terms</a></div>'),
    "small-text": document(GOOD + '<p class="fine-print" style="font-size: 12px">Terms apply.</p>'),
    "no-viewport-tag": document(GOOD).replace('<meta name="viewport"', '<meta name="x"'),
    "no-alt": document(GOOD + f'<img class="chart" src="{PIXEL}" width="80" height="80">'),
    "no-label": document(GOOD + '<input class="email" name="email">'),
    "scripted": document(
        GOOD + "<script>document.getElementById('heading').textContent = 'Changed by a script'"
        "</script>"
    ),
}
#: A strict policy: no script of any kind, so the page's inline script must not run.
STRICT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


async def handle(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == "language":
        said = html.escape(request.headers.get("Accept-Language", ""))
        return web.Response(text=document(f"<h1>{said}</h1>"), content_type="text/html")
    if name == "strict":
        # the scripted page, but without alt text, under a policy that forbids all scripts
        body = PAGES["scripted"].replace(' alt="The result\'s chart"', "")
        return web.Response(
            text=body, content_type="text/html", headers={"Content-Security-Policy": STRICT_CSP}
        )
    if name not in PAGES:
        raise web.HTTPNotFound()
    return web.Response(text=PAGES[name], content_type="text/html")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    app = web.Application()
    app.router.add_get("/{name}", handle)
    with serve(app) as base_url:
        yield base_url


def test_the_phone_has_a_phone_sized_touch_screen(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/good")
    width, height, scale, coarse, touch = page.evaluate(
        "[innerWidth, innerHeight, devicePixelRatio, matchMedia('(pointer: coarse)').matches,"
        " navigator.maxTouchPoints > 0]"
    )
    assert (width, height, scale, coarse, touch) == (390, 844, PHONE_SCALE, True, True)


def test_a_good_page_passes_every_check(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/good")
    assert_no_horizontal_scroll(page)
    assert_tap_targets_at_least(page, 44)
    assert_body_text_at_least(page, 16)
    assert_accessible(page)


def test_a_good_page_passes_every_check_with_javascript_off(phone: Phone, site: str) -> None:
    page = phone(javascript=False)
    page.goto(f"{site}/good")
    assert_no_horizontal_scroll(page)
    assert_tap_targets_at_least(page, 44)
    assert_body_text_at_least(page, 16)
    assert_accessible(page)


def test_a_page_wider_than_the_phone_fails_the_horizontal_scroll_check(
    phone: Phone, site: str
) -> None:
    page = phone()
    page.goto(f"{site}/wide")
    with pytest.raises(AssertionError, match=r"(?s)scrolls sideways.*div\.banner.*A wide banner"):
        assert_no_horizontal_scroll(page)


def test_a_page_without_a_viewport_tag_fails_the_horizontal_scroll_check(
    phone: Phone, site: str
) -> None:
    page = phone()
    page.goto(f"{site}/no-viewport-tag")
    with pytest.raises(AssertionError, match=r"laid out 980 px wide: is <meta name=\"viewport\""):
        assert_no_horizontal_scroll(page)


def test_a_20px_button_fails_the_tap_target_check(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/tiny-button")
    with pytest.raises(AssertionError, match=r"button\.tiny.*20×20 px") as failure:
        assert_tap_targets_at_least(page, 44)
    # the good page's 48 px controls, its radio button (through its label) and its link in a
    # paragraph are not named
    assert "Next" not in str(failure.value)
    assert "radio" not in str(failure.value)
    assert "how it works" not in str(failure.value)


def test_a_small_link_outside_a_paragraph_fails_the_tap_target_check(
    phone: Phone, site: str
) -> None:
    page = phone()
    page.goto(f"{site}/loose-link")
    with pytest.raises(AssertionError, match=r'a\[href="/terms"\] "Terms"'):
        assert_tap_targets_at_least(page, 44)


def test_12px_text_fails_the_body_text_check(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/small-text")
    with pytest.raises(AssertionError, match=r'p\.fine-print "Terms apply\.": 12 px'):
        assert_body_text_at_least(page, 16)


def test_an_image_without_alt_text_fails_the_accessibility_check(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/no-alt")
    with pytest.raises(AssertionError, match=r"(?s)image-alt \(critical\).*\.chart"):
        assert_accessible(page)


def test_an_input_without_a_label_fails_the_accessibility_check(phone: Phone, site: str) -> None:
    page = phone()
    page.goto(f"{site}/no-label")
    with pytest.raises(AssertionError, match=r"(?s)label \(critical\).*\.email"):
        assert_accessible(page)


def test_the_accessibility_check_runs_with_javascript_off(phone: Phone, site: str) -> None:
    page = phone(javascript=False)
    page.goto(f"{site}/no-alt")
    with pytest.raises(AssertionError, match=r"(?s)image-alt \(critical\).*\.chart"):
        assert_accessible(page)


def test_the_accessibility_check_runs_under_a_strict_content_security_policy(
    phone: Phone, site: str
) -> None:
    page = phone()
    page.goto(f"{site}/strict")
    # the policy is in force: the page's own script did not run…
    assert page.text_content("h1") == "Django or Node.js?"
    # …and axe ran all the same
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)"):
        assert_accessible(page)


def test_javascript_off_really_turns_the_pages_scripts_off(phone: Phone, site: str) -> None:
    with_scripts = phone()
    with_scripts.goto(f"{site}/scripted")
    assert with_scripts.text_content("h1") == "Changed by a script"
    without = phone(javascript=False)
    without.goto(f"{site}/scripted")
    assert without.text_content("h1") == "Django or Node.js?"


def test_the_locale_sets_the_accept_language_header(phone: Phone, site: str) -> None:
    page = phone(locale="es-ES")
    page.goto(f"{site}/language")
    assert (page.text_content("h1") or "").startswith("es-ES")
    assert page.evaluate("navigator.language") == "es-ES"


def test_a_screenshot_is_written_as_a_full_page_png(
    phone: Phone, site: str, screenshots: Path
) -> None:
    page = phone()
    page.goto(f"{site}/good")
    path = shot(page, "browser-helpers good page")
    assert path == screenshots / "browser-helpers-good-page.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 390 * PHONE_SCALE
    assert height >= 844 * PHONE_SCALE
