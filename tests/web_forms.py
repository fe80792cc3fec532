"""A browser without JavaScript, for the web pages' tests: forms and cookies only.

It keeps cookies, reads a page's forms and buttons with the standard HTML parser, presses a
button by its label (sending its form as a browser does: the hidden fields, then the button's
own name and value, to the button's ``formaction`` or its form's ``action``) and follows
redirects. A page's text is what a reader sees, without the markup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import aiohttp
from aiohttp import web


@dataclass
class Form:
    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Press:
    label: str
    form: Form
    name: str | None
    value: str | None
    action: str


class _Reader(HTMLParser):
    SKIP = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.buttons: list[Press] = []
        self.links: list[tuple[str, str]] = []
        self.meta: dict[str, str] = {}
        self.text: list[str] = []
        self.title = ""
        self._form: Form | None = None
        self._button: dict[str, str | None] | None = None
        self._label: list[str] = []
        self._link: str | None = None
        self._link_text: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.SKIP:
            self._skip += 1
            self._in_title = tag == "title"
        if tag == "form":
            self._form = Form(a.get("action") or "", (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            name = a.get("name")
            if name and a.get("type") == "hidden":
                self._form.hidden[name] = a.get("value") or ""
            elif name:
                self._form.inputs.append(name)
        elif tag == "button":
            self._button = a
            self._label = []
        elif tag == "a":
            self._link = a.get("href")
            self._link_text = []
        elif tag == "meta":
            key = a.get("property") or a.get("name")
            if key:
                self.meta[key] = a.get("content") or ""
        elif tag in ("p", "br", "div", "h1", "h2", "li"):
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip -= 1
            self._in_title = False
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None:
            label = " ".join("".join(self._label).split())
            form = self._form or Form("", "get")
            action = self._button.get("formaction") or form.action
            self.buttons.append(
                Press(label, form, self._button.get("name"), self._button.get("value"), action)
            )
            self._button = None
        elif tag == "a" and self._link is not None:
            self.links.append((" ".join("".join(self._link_text).split()), self._link))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._skip:
            return
        self.text.append(data)
        if self._button is not None:
            self._label.append(data)
        if self._link is not None:
            self._link_text.append(data)


@dataclass
class Page:
    status: int
    url: str
    html: str
    headers: dict[str, str]

    def __post_init__(self) -> None:
        reader = _Reader()
        reader.feed(self.html)
        self.forms = reader.forms
        self.buttons = reader.buttons
        self.links = reader.links
        self.meta = reader.meta
        self.title = reader.title
        self.text = " ".join("".join(reader.text).split())

    def button(self, label: str) -> Press:
        """The button whose label contains ``label`` (exactly one, else the test fails)."""
        found = [b for b in self.buttons if label in b.label]
        exact = [b for b in found if b.label == label]
        found = exact or found
        assert len(found) == 1, f"{len(found)} buttons labelled {label!r}: {self.labels}"
        return found[0]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.buttons]

    def form_with(self, name: str) -> Form:
        forms = [f for f in self.forms if name in f.inputs]
        assert forms, f"no form with a field {name!r}"
        return forms[0]


class Browser:
    """One visitor's browser, JavaScript off."""

    def __init__(self, base: str, *, language: str = "en") -> None:
        self.base = base
        self.jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies of 127.0.0.1
        self.session = aiohttp.ClientSession(
            cookie_jar=self.jar, headers={"Accept-Language": language}
        )
        self.page: Page | None = None

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str) -> Page:
        async with self.session.get(self.base + path) as response:
            self.page = Page(
                response.status, str(response.url), await response.text(), dict(response.headers)
            )
        return self.page

    async def submit(self, form: Form, fields: dict[str, str], action: str | None = None) -> Page:
        data = {**form.hidden, **fields}
        async with self.session.post(self.base + (action or form.action), data=data) as response:
            self.page = Page(
                response.status, str(response.url), await response.text(), dict(response.headers)
            )
        return self.page

    async def press(self, label: str) -> Page:
        assert self.page is not None
        press = self.page.button(label)
        fields = {press.name: press.value or ""} if press.name else {}
        return await self.submit(press.form, fields, press.action)

    async def type(self, text: str, field_name: str = "text") -> Page:
        assert self.page is not None
        return await self.submit(self.page.form_with(field_name), {field_name: text})

    def cookie(self, name: str) -> str | None:
        for cookie in self.jar:
            if cookie.key == name:
                return cookie.value
        return None


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """The application on a free port of 127.0.0.1; yields its base address."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
