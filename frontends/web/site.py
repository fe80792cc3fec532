"""The web front end: the conversation in any browser, shared results, and the Mini App.

Served by aiohttp (beside the webhook, or on its own with ``bot.py --web``), with Jinja2's
autoescaped templates. Every page works with JavaScript off: plain forms, and after each one
the browser is sent back to the page (POST-redirect-GET), which is drawn from the stored
session. The conversation service, the store, the languages and the leads are the ones
Telegram uses (:func:`bootstrap.bootstrap`); the web's person is a random id in a signed cookie,
or, in the Mini App, the Telegram user Telegram's signature vouches for.

Safe by default (:mod:`.security`): a CSRF token on every form, the cookie HttpOnly and
SameSite, a Content-Security-Policy with no inline script, a body-size limit, per-address
limits on forms, and nothing personal in an address or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import jinja2
from aiohttp import web
from markupsafe import Markup

from advisor import Knowledge, recommend
from advisor.chart import render_chart_png, render_chart_svg
from advisor.session import AFTER_RESULT, RESULT, WELCOME, Session
from advisor.summary import render_one_line, render_summary_html
from bootstrap import Advisor, Spawn, bootstrap, signing_key
from dialogs import actions, wording
from dialogs import turns as c
from dialogs.conversation import PAYLOAD_RE
from dialogs.engine import DialogEngine
from dialogs.views import Finished, Notice, Summary
from frontends.metrics import Metrics
from handoff import HandOff, LeadOffice
from settings import Settings
from storage.base import LeadReach, StorageError, Store, Stored

from .initdata import InitDataError, verify_init_data
from .screens import PAGE_RE, WebPresenter, information, notice_of, page_of, paragraphs
from .security import Keys, RateLimits, Visitor, new_visitor, security_headers

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
VISITOR_COOKIE = "sa"
LANGUAGE_COOKIE = "sa_lang"
LINK_COOKIE = "sa_link"
NOTE_COOKIE = "sa_note"
#: A form is a few hundred bytes; anything near this is not one of ours.
MAX_FORM_BYTES = 16 * 1024
#: What a typed answer may be (longer is cut; the interpreter reads far less).
MAX_TYPED = 500
#: A one-time notice's values are cut to this many characters (it travels in a cookie).
MAX_NOTE_VALUE = 200
#: A phone number as people type it: digits, spaces, dashes, dots, brackets, a leading +.
PHONE_RE = re.compile(r"\+?[0-9][0-9 ().-]{5,22}[0-9]")
SHARE_RE = re.compile(r"r_[A-Za-z0-9_-]{1,60}")
#: One-time notices that are marks for a page, not texts: the share link's box is shown to
#: the person who shared, and what "Delete my answers" deleted.
MARKS = frozenset({"web.share_ready", "web.forgotten"})
#: Where the language switcher may send the browser back to: a path of ours and its query.
BACK_RE = re.compile(r"/(?![/\\])[A-Za-z0-9._~/?=&%-]{0,200}")
#: How often ``--web`` on its own delivers the leads that are due, in seconds.
LEADS_EVERY_SECONDS = 5.0
STATIC = {"app.css": "text/css", "app.js": "text/javascript"}

#: A form's fields, read once its size, limit and token were checked.
FORM = web.RequestKey("form", dict[str, str])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-address limits: forms in general, and the contact form (a lead) on its own."""

    forms_burst: int = 60
    forms_per_minute: float = 120.0
    leads_burst: int = 5
    leads_per_minute: float = 1.0


class WebFrontEnd:
    """The web pages of one advisor (its conversation service and store)."""

    def __init__(
        self,
        advisor: Advisor[WebPresenter],
        *,
        key: bytes,
        web_url: str | None = None,
        bot_token: str | None = None,
        trust_proxy: bool = False,
        limits: Limits = Limits(),
        metrics: Metrics | None = None,
    ) -> None:
        self.advisor = advisor
        #: ``GET /metrics`` beside ``/healthz`` (None: not served).
        self.metrics = metrics
        self.knowledge: Knowledge = advisor.knowledge
        self.presenter = advisor.presenter
        self.conversation = advisor.conversation
        self.keys = Keys(key)
        self.web_url = web_url.rstrip("/") if web_url else None
        self.https = bool(self.web_url and self.web_url.startswith("https://"))
        self.bot_token = bot_token
        self.trust_proxy = trust_proxy
        self.forms = RateLimits(burst=limits.forms_burst, per_minute=limits.forms_per_minute)
        self.leads = RateLimits(burst=limits.leads_burst, per_minute=limits.leads_per_minute)
        self.headers = security_headers(https=self.https)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}
        self._languages = [
            (code, self.knowledge.speaking(code).text("language.name"))
            for code in self.knowledge.languages
        ]

    # -- wiring --------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """The web pages, on an aiohttp application (the webhook's, or one of their own)."""
        get, post = app.router.add_get, app.router.add_post
        get("/", self._page(self.home))
        post("/start", self._form(self.start))
        post("/act", self._form(self.act))
        post("/contact", self._form(self.contact, lead=True))
        post("/lang", self._form(self.switch_language))
        post("/share", self._form(self.share))
        get("/help", self._page(self.help))
        get("/about", self._page(self.about))
        get("/forget", self._page(self.forget_page))
        post("/forget", self._form(self.forget))
        get("/bye", self._page(self.bye))
        get("/s/{name}", self._page(self.tracked_link))
        get("/r/{code}", self._page(self.shared))
        get("/r/{code}/chart.png", self._page(self.chart_png))
        get("/r/{code}/chart.svg", self._page(self.chart_svg))
        get("/app", self._page(self.mini_app))
        post("/app/session", self._form(self.mini_app_session, csrf=False, lead=True))
        get("/static/{name}", self.static)
        app.router.add_route("*", "/{tail:.*}", self._page(_not_found))

    def application(self) -> web.Application:
        """An application serving only the web pages (and a health check)."""
        app = web.Application(client_max_size=MAX_FORM_BYTES)
        app.router.add_get("/healthz", _healthy)
        if self.metrics is not None:
            self.metrics.add_route(app)
        self.add_routes(app)
        return app

    async def serve(self, host: str, port: int) -> web.AppRunner:
        """Serve the pages on ``host``:``port`` until the runner is cleaned up (OSError when
        the address cannot be used)."""
        runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=10.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        logger.info("web pages on http://%s:%d", host, port)
        return runner

    # -- requests ------------------------------------------------------------------------------

    def _page(self, handler: Handler) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # a redirect, or a problem drawn as a page
                if exc.status >= 400:
                    response = self.problem(request, exc.status)
                else:
                    response = web.Response(status=exc.status, headers=exc.headers)
            except (StorageError, OSError) as exc:
                logger.warning("web: a page could not be drawn: %r", exc)
                response = self.problem(request, 503)
            except Exception:  # a bug of ours: logged, and a clear page, never a stack trace
                logger.exception("web: a page failed")
                response = self.problem(request, 500)
            response.headers.update(self.headers)
            return response

        return page

    def _form(self, handler: Handler, *, csrf: bool = True, lead: bool = False) -> Handler:
        """A form's handler: its size, the address's limit and its CSRF token checked first."""

        async def form(request: web.Request) -> web.StreamResponse:
            address = self._address(request)
            limits = self.leads if lead else self.forms
            if not limits.allow(address):
                raise web.HTTPTooManyRequests()
            fields = await _read_form(request)
            request[FORM] = fields
            cookie = request.cookies.get(VISITOR_COOKIE)
            if csrf and cookie is None:  # cookies are off: say so, not "try again"
                return self.problem(request, 403, "cookies")
            if csrf and not self.keys.csrf_ok(cookie, fields.get("csrf")):
                raise web.HTTPForbidden()
            return await handler(request)

        return self._page(form)

    def _address(self, request: web.Request) -> str:
        if self.trust_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()
        return request.remote or "?"

    def visitor(self, request: web.Request) -> Visitor | None:
        return self.keys.visitor(request.cookies.get(VISITOR_COOKIE))

    def language(self, request: web.Request, session: Session | None = None) -> str:
        """The page's language: the session's, else the switcher's, else the browser's."""
        if session is not None and session.language:
            return self.knowledge.language_for(session.language)
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen in self.knowledge.languages:
            return chosen
        return accepted_language(request.headers.get("Accept-Language", ""), self.knowledge)

    def person(self, visitor: Visitor, language: str) -> c.Person:
        first = visitor.name.split(" ")[0] if visitor.name else ""
        return c.Person(
            chat_id=visitor.chat_id,
            user_id=visitor.user_id,
            first_name=first,
            full_name=visitor.name,
            private=True,
            language=language,
            channel=visitor.kind,
        )

    async def stored(self, visitor: Visitor) -> Stored | None:
        async with self.advisor.store.unit(visitor.user_id) as uow:
            return await uow.sessions.get(visitor.chat_id, visitor.user_id)

    def _cookie(
        self,
        response: web.StreamResponse,
        name: str,
        value: str,
        *,
        days: int,
        framed: bool = False,
    ) -> None:
        """A cookie of ours: HttpOnly, Secure behind https, SameSite=Lax (None for the Mini
        App's, ``framed``: Telegram's web clients show it in a frame of theirs)."""
        mini_app = self.https and (framed or (name == VISITOR_COOKIE and self._is_app(value)))
        response.set_cookie(
            name,
            value,
            max_age=days * 86_400,
            path="/",
            httponly=True,
            secure=self.https,
            # Telegram's web clients show the Mini App in a frame of theirs: a cross-site
            # frame gets its cookie only with SameSite=None (and Secure).
            samesite="None" if mini_app else "Lax",
        )

    def link_of(self, name: str) -> str | None:
        """The web address of a tracked link (for the CRM hook's leads)."""
        return f"{self.web_url}/s/{name}" if self.web_url else None

    def _is_app(self, cookie: str) -> bool:
        visitor = self.keys.visitor(cookie)
        return visitor is not None and visitor.kind == "mini_app"

    def render(
        self,
        request: web.Request,
        template: str,
        *,
        language: str,
        status: int = 200,
        visitor_cookie: str | None = None,
        **context: Any,
    ) -> web.Response:
        """A page in a language, with the CSRF token of the visitor's cookie."""
        k = self.knowledge.speaking(language)
        cookie = visitor_cookie or request.cookies.get(VISITOR_COOKIE)
        fresh = None
        if cookie is None or self.keys.visitor(cookie) is None:  # forms need one: a visitor
            cookie = fresh = self.keys.cookie(new_visitor())
        context.setdefault("title", k.text("web.title"))
        context.setdefault("description", k.text("web.description"))
        html = self.templates.get_template(template).render(
            t=_texts(k),
            lang=language,
            languages=self._languages,
            csrf=self.keys.csrf(cookie),
            here=request.path_qs if request.method == "GET" else "/",
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Cache-Control"] = "no-store"
        if fresh is not None:
            self._cookie(response, VISITOR_COOKIE, fresh, days=self._days)
        return response

    def problem(self, request: web.Request, status: int, reason: str = "") -> web.Response:
        """A clear page for what went wrong, in the visitor's language."""
        key = {
            400: "web.problem.bad_request",
            401: f"web.problem.{reason or 'forged'}",
            403: f"web.problem.{reason or 'expired_form'}",
            404: "web.problem.not_found",
            405: "web.problem.bad_request",
            413: "web.problem.too_big",
            429: "web.problem.too_many",
        }.get(status, "web.problem.unavailable")
        language = self.language(request)
        response = self.render(request, "problem.html", language=language, status=status, key=key)
        if status == 429:
            response.headers["Retry-After"] = "60"
        return response

    # -- the conversation ----------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        """The page the visitor is on: the welcome, a question, the result or one of its pages."""
        visitor = self.visitor(request)
        fresh = None
        if visitor is None:
            visitor = new_visitor()
            fresh = self.keys.cookie(visitor)
        stored = await self.stored(visitor)
        note = self._note(request)
        page = request.query.get("p")
        if page is not None and not PAGE_RE.fullmatch(page):
            page = None
        if stored is None or stored.session.state == WELCOME:
            language = self.language(request)
            response = self.welcome(request, language, fresh, note)
        else:
            session = stored.session
            language = self.language(request, session)
            view = self.presenter.view_of(
                session, page=page, notice=note.notice, choices=note.choices
            )
            person = self.person(visitor, language)
            screen = self.presenter.screen(view, c.Audience(person, session, None))
            share = self.advisor.share_codes.encode(session.answers) if screen.result else None
            response = self.render(
                request,
                "screen.html",
                language=language,
                screen=screen,
                share=share,
                title=self._title(view, language),
                visitor_cookie=fresh,
            )
        if fresh is not None:
            self._cookie(response, VISITOR_COOKIE, fresh, days=self._days)
        if note.present:
            response.del_cookie(NOTE_COOKIE, path="/")
        return response

    def welcome(
        self, request: web.Request, language: str, fresh: str | None, note: _Note
    ) -> web.Response:
        k = self.knowledge.speaking(language)
        engine = self.presenter.engine(language)
        text = k.text("dialog.welcome", **engine.welcome_values())
        notice = k.text(note.notice.key, **note.notice.values) if note.notice else None
        return self.render(
            request,
            "welcome.html",
            language=language,
            welcome=paragraphs(_escape(text)),
            notice=notice,
            visitor_cookie=fresh,
        )

    def _title(self, view: object, language: str) -> str:
        k = self.knowledge.speaking(language)
        if isinstance(view, Finished | Summary):
            stack = k.text(f"stack.{view.recommendation.choice}")
            return k.text("summary.verdict", stack=stack)
        return k.text("web.title")

    @property
    def _days(self) -> int:
        return self.advisor.settings.session_ttl_days

    async def _turn(self, request: web.Request, action: c.Action) -> web.StreamResponse:
        """One step of the conversation, then back to the page it leads to."""
        visitor = self.visitor(request)
        if visitor is None:
            raise web.HTTPForbidden()
        # The language for someone new; the turn speaks a stored session's own.
        outcome = await self.conversation.turn(self.person(visitor, self.language(request)), action)
        return self._after(outcome)

    def _after(self, outcome: c.Outcome) -> web.StreamResponse:
        """The page a step leads to, and the line it says once (in a signed cookie)."""
        target, page, notice, choices = "/", None, outcome.toast, ()
        for reply in outcome.replies:
            match reply:
                case c.Show(view):
                    target = information(view) or "/"
                    page = page_of(view)
                    notice = notice_of(view) or (notice if target != "/" else None)
                    choices = tuple(o.id for o in getattr(view, "choices", ()))
                case c.Say(said) | c.Rewrite(_, said):
                    notice = said
        location = f"{target}?p={page}" if page and target == "/" else target
        response = _redirect(location)
        if notice is not None or choices:
            self._cookie(response, NOTE_COOKIE, self._signed_note(notice, choices), days=1)
        return response

    def _signed_note(self, notice: Notice | None, choices: tuple[str, ...]) -> str:
        values = {
            name: value[:MAX_NOTE_VALUE] if isinstance(value, str) else value
            for name, value in (notice.values if notice else {}).items()
            if isinstance(value, str | int | float)
        }
        data = {"k": notice.key if notice else None, "v": values, "c": list(choices)}
        raw = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        return self.keys.sign("note", quote(raw, safe=""))

    def _note(self, request: web.Request) -> _Note:
        signed = request.cookies.get(NOTE_COOKIE)
        if signed is None:
            return _Note()
        value = self.keys.unsign("note", signed)
        try:
            data = json.loads(unquote(value or ""))
            key, values, choices = data["k"], data["v"], data["c"]
            assert key is None or isinstance(key, str)
            assert isinstance(values, dict) and isinstance(choices, list)
        except (ValueError, TypeError, KeyError, AssertionError):
            return _Note(present=True)
        known = key in self.knowledge.texts or key in MARKS
        notice = Notice(key, values) if key and known else None
        return _Note(notice, tuple(str(x) for x in choices), present=True)

    async def start(self, request: web.Request) -> web.StreamResponse:
        link = request.cookies.get(LINK_COOKIE)
        payload = link if link and PAYLOAD_RE.fullmatch(link) else None
        response = await self._turn(request, c.Begin(payload))
        if link is not None:
            response.del_cookie(LINK_COOKIE, path="/")
        return response

    async def act(self, request: web.Request) -> web.StreamResponse:
        """A button (its data, as Telegram's) or a typed answer."""
        form = request[FORM]
        if "b" in form:
            return await self._turn(request, c.Pressed(form["b"][: actions.MAX_BYTES + 1]))
        text = " ".join(form.get("text", "").split())[:MAX_TYPED]
        if not text:
            return _redirect("/")
        return await self._turn(request, c.Typed(text))

    async def contact(self, request: web.Request) -> web.StreamResponse:
        """The hand-off's contact: an e-mail address or a phone number, or "No thanks"."""
        form = request[FORM]
        visitor = self.visitor(request)
        if visitor is None:
            raise web.HTTPForbidden()
        if "no" in form:
            stored = await self.stored(visitor)
            k = self.knowledge.speaking(self.language(request, stored.session if stored else None))
            return await self._turn(request, c.Typed(k.text("lead.consent_no")))
        phone = " ".join(form.get("phone", "").split())
        email = form.get("email", "").strip()[:MAX_TYPED]
        if phone:
            if not PHONE_RE.fullmatch(phone):
                return self._after(c.Outcome(toast=Notice("web.bad_phone")))
            digits = "+" + "".join(ch for ch in phone if ch.isdigit())
            return await self._turn(request, c.SharedContact(digits, own=True))
        if email:
            return await self._turn(request, c.Typed(email))
        return self._after(c.Outcome(toast=Notice("web.no_contact")))

    async def switch_language(self, request: web.Request) -> web.StreamResponse:
        """The switcher: this language from now on, on every page and in the conversation."""
        form = request[FORM]
        code = form.get("lang", "")
        if code not in self.knowledge.languages:
            raise web.HTTPBadRequest()
        back = form.get("here", "/")
        if not BACK_RE.fullmatch(back):  # only a page of ours: no other site, no header tricks
            back = "/"
        response: web.StreamResponse = _redirect(back)
        visitor = self.visitor(request)
        stored = await self.stored(visitor) if visitor is not None else None
        if (
            visitor is not None
            and stored is not None
            and stored.session.state != WELCOME
            and stored.session.language != code
        ):
            data = actions.encode(
                visitor.user_id,
                stored.session.round,
                actions.NO_QUESTION,
                actions.LANGUAGE.code + code,
            )
            language = self.language(request, stored.session)
            await self.conversation.turn(self.person(visitor, language), c.Pressed(data))
        self._cookie(response, LANGUAGE_COOKIE, code, days=365)
        return response

    async def share(self, request: web.Request) -> web.StreamResponse:
        """Share the result: counted once, then its page, with the link to copy."""
        visitor = self.visitor(request)
        stored = await self.stored(visitor) if visitor is not None else None
        if visitor is None or stored is None or not stored.session.answers:
            return _redirect("/")
        code = self.advisor.share_codes.encode(stored.session.answers)
        await self.conversation.shared(visitor.user_id, code)
        response = _redirect(f"/r/{code}")
        self._cookie(
            response, NOTE_COOKIE, self._signed_note(Notice("web.share_ready"), ()), days=1
        )
        return response

    # -- pages that inform ---------------------------------------------------------------------

    async def _session_of(self, request: web.Request) -> Session | None:
        visitor = self.visitor(request)
        stored = await self.stored(visitor) if visitor is not None else None
        return stored.session if stored is not None else None

    async def help(self, request: web.Request) -> web.StreamResponse:
        session = await self._session_of(request)
        key = "web.help_result" if session is not None and session.state == RESULT else "web.help"
        return self._info(request, session, "web.help_title", lambda k: k.text(key))

    async def about(self, request: web.Request) -> web.StreamResponse:
        session = await self._session_of(request)
        return self._info(request, session, "web.about_title", wording.about)

    def _info(
        self,
        request: web.Request,
        session: Session | None,
        title: str,
        body: Callable[[Knowledge], str],
    ) -> web.Response:
        """A page that informs: a title and plain text, in the visitor's language."""
        language = self.language(request, session)
        k = self.knowledge.speaking(language)
        text = paragraphs(_escape(body(k)))
        return self.render(request, "info.html", language=language, title=k.text(title), body=text)

    async def forget_page(self, request: web.Request) -> web.StreamResponse:
        session = await self._session_of(request)
        return self.render(request, "forget.html", language=self.language(request, session))

    async def forget(self, request: web.Request) -> web.StreamResponse:
        """Delete everything about the visitor (as /forget does), or keep it."""
        form = request[FORM]
        visitor = self.visitor(request)
        if visitor is None or "delete" not in form:
            return _redirect("/")
        session = await self._session_of(request)
        language = self.language(request, session)
        forgotten = await self.conversation.forget(visitor.user_id)
        reach = forgotten.reach
        values = {
            "leads": reach.leads,
            "delivered": " ".join(sorted(reach.delivered)),
            "handled": int(reach.handled),
        }
        response = _redirect("/bye")
        note = self._signed_note(Notice("web.forgotten", values), ())
        self._cookie(response, NOTE_COOKIE, note, days=1)
        self._cookie(response, LANGUAGE_COOKIE, language, days=365)
        response.del_cookie(VISITOR_COOKIE, path="/")
        return response

    async def bye(self, request: web.Request) -> web.StreamResponse:
        """After "Delete my answers": what was deleted, and where a contact had already gone."""
        language = self.language(request)
        k = self.knowledge.speaking(language)
        note = self._note(request)
        reach = LeadReach()
        if note.notice is not None and note.notice.key == "web.forgotten":
            values = note.notice.values
            reach = LeadReach(
                leads=int(str(values.get("leads", 0))),
                delivered=frozenset(str(values.get("delivered", "")).split()),
                handled=bool(values.get("handled")),
            )
        body = paragraphs(self.presenter.telegram.speaking(language).forgotten(reach))
        response = self.render(
            request, "info.html", language=language, title=k.text("web.deleted_title"), body=body
        )
        if note.present:
            response.del_cookie(NOTE_COOKIE, path="/")
        return response

    # -- links ---------------------------------------------------------------------------------

    async def tracked_link(self, request: web.Request) -> web.StreamResponse:
        """A tracked link (made with /link): the visit counts under its name."""
        name = request.match_info["name"]
        response = _redirect("/")
        if PAYLOAD_RE.fullmatch(name) and not name.startswith("r_"):
            self._cookie(response, LINK_COOKIE, name, days=1)
        return response

    def _shared_answers(self, request: web.Request) -> dict[str, str]:
        code = request.match_info["code"]
        answers = self.advisor.share_codes.decode(code) if SHARE_RE.fullmatch(code) else None
        if answers is None:
            raise web.HTTPNotFound()
        return answers

    async def shared(self, request: web.Request) -> web.StreamResponse:
        """A shared result, about "them", in the reader's language, with a preview's tags."""
        code = request.match_info["code"]
        answers = self.advisor.share_codes.decode(code) if SHARE_RE.fullmatch(code) else None
        language = self.language(request)
        k = self.knowledge.speaking(language)
        if answers is None:
            return self.render(
                request,
                "info.html",
                language=language,
                status=404,
                title=k.text("web.title"),
                body=paragraphs(_escape(k.text("share.broken"))),
                quiz=True,
            )
        rec = recommend(k, answers)
        base = self.web_url or f"{request.scheme}://{request.host}"
        note = self._note(request)
        title = k.text("share.card_title", stack=k.text(f"stack.{rec.choice}"))
        description = render_one_line(rec, k, voice="they")
        response = self.render(
            request,
            "shared.html",
            language=language,
            title=title,
            description=description,
            summary=paragraphs(render_summary_html(rec, k, voice="they")),
            chart=Markup(render_chart_svg(rec, k)),
            url=f"{base}/r/{code}",
            image=f"{base}/r/{code}/chart.png",
            mine=note.notice is not None and note.notice.key == "web.share_ready",
        )
        if note.present:
            response.del_cookie(NOTE_COOKIE, path="/")
        return response

    async def chart_png(self, request: web.Request) -> web.StreamResponse:
        k = self.knowledge.speaking(self.language(request))
        rec = recommend(k, self._shared_answers(request))
        png = await asyncio.to_thread(render_chart_png, rec, k)
        return _cached(web.Response(body=png, content_type="image/png"))

    async def chart_svg(self, request: web.Request) -> web.StreamResponse:
        k = self.knowledge.speaking(self.language(request))
        rec = recommend(k, self._shared_answers(request))
        svg = render_chart_svg(rec, k)
        return _cached(web.Response(text=svg, content_type="image/svg+xml"))

    # -- the Telegram Mini App -----------------------------------------------------------------

    async def mini_app(self, request: web.Request) -> web.StreamResponse:
        """The Mini App's first page: its script sends Telegram's signed ``initData`` here."""
        visitor = new_visitor()
        cookie = self.keys.cookie(visitor)
        language = self.language(request)
        response = self.render(request, "app.html", language=language, visitor_cookie=cookie)
        self._cookie(response, VISITOR_COOKIE, cookie, days=1, framed=True)
        return response

    async def mini_app_session(self, request: web.Request) -> web.StreamResponse:
        """Trust the person once Telegram's signature on ``initData`` checks out (401 else):
        their interactive result, in the Mini App's own chat, seeded with their answers."""
        form = request[FORM]
        if self.bot_token is None:
            return self.problem(request, 401, "no_bot")
        if not self.keys.csrf_ok(request.cookies.get(VISITOR_COOKIE), form.get("csrf")):
            raise web.HTTPForbidden()
        try:
            user = verify_init_data(form.get("init_data", ""), self.bot_token, now=time.time())
        except InitDataError as exc:
            logger.info("web: refused Mini App data (%s)", exc.reason)
            reason = "stale" if exc.reason == "stale" else "forged"
            return self.problem(request, 401, reason)
        visitor = Visitor("mini_app", user.id, user.full_name[:128], int(time.time()))
        await self._seed(visitor, user.language_code)
        response = _redirect("/")
        self._cookie(response, VISITOR_COOKIE, self.keys.cookie(visitor), days=1)
        return response

    async def _seed(self, visitor: Visitor, language: str | None) -> None:
        """The Mini App's chat starts from the person's Telegram answers (at their result, when
        they have one), and never moves the Telegram chat's own steps."""
        async with self.advisor.store.unit(visitor.user_id) as uow:
            if await uow.sessions.get(visitor.chat_id, visitor.user_id) is not None:
                return
            telegram = await uow.sessions.get(visitor.user_id, visitor.user_id)
            if telegram is None:
                return
            was = telegram.session
            k = self.knowledge
            done = was.state in AFTER_RESULT
            session = Session(
                state=RESULT if done else WELCOME,
                answers=dict(was.answers) if done else {},
                source=was.source,
                language=was.language or k.language_for(language),
            )
            await uow.sessions.put(
                visitor.chat_id, visitor.user_id, Stored(session, first_name=telegram.first_name)
            )

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._static:
            raise web.HTTPNotFound()
        response = web.Response(body=self._static[name], content_type=STATIC[name])
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers.update(self.headers)
        return response


def web_front_end(
    settings: Settings,
    knowledge: Knowledge,
    *,
    store: Store | None = None,
    engine: DialogEngine | None = None,
    leads: LeadOffice | None = None,
    hand_off: HandOff | None = None,
    spawn: Spawn | None = None,
    limits: Limits = Limits(),
    metrics: Metrics | None = None,
) -> WebFrontEnd:
    """The web pages over the advisor (bootstrapped here; beside Telegram, with its store,
    dialog, lead office and metrics; on their own, with metrics of their own)."""
    advisor = bootstrap(
        settings,
        knowledge,
        presenter=WebPresenter.of,
        store=store,
        engine=engine,
        hand_off=hand_off if hand_off is not None else (leads.hand_off if leads else None),
        spawn=spawn,
        leads=leads,
    )
    return WebFrontEnd(
        advisor,
        key=signing_key(settings, "web"),
        web_url=settings.web_url,
        bot_token=settings.bot_token,
        trust_proxy=settings.web_trust_proxy,
        limits=limits,
        metrics=metrics if metrics is not None else _metrics(settings, advisor.store),
    )


def _metrics(settings: Settings, store: Store) -> Metrics:
    """The web pages' own metrics: what the store owes (no Telegram updates here)."""
    metrics = Metrics(token=settings.metrics_token)
    metrics.watch_store(store)
    return metrics


def run_web(settings: Settings, knowledge: Knowledge) -> int:
    """``bot.py --web``: the web pages on their own (SQLite at STATE_DB, or DATABASE_URL),
    until Ctrl-C."""
    from frontends.telegram.logs import configure_logging, secrets_of

    configure_logging(settings.log_level, secrets_of(settings))
    try:
        asyncio.run(_run_web(settings, knowledge))
    except KeyboardInterrupt:
        pass
    except StorageError as exc:
        print(f"error: {exc}")
        return 1
    except OSError as exc:
        print(
            f"error: WEB_LISTEN/WEB_PORT: cannot listen on {settings.web_listen} port "
            f"{settings.web_port}: {exc.strerror or exc}"
        )
        return 2
    return 0


async def _run_web(settings: Settings, knowledge: Knowledge) -> None:
    front = web_front_end(settings, knowledge)
    advisor = front.advisor
    if advisor.opening is not None:
        await advisor.opening.open()
    # The first chart loads its fonts (some milliseconds): now, not for a visitor.
    await asyncio.to_thread(render_chart_png, recommend(knowledge, {}), knowledge)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a supervisor's stop: finish, then close
        loop.add_signal_handler(sig, stop.set)
    advisor.leads.open_crm_hook(knowledge, source_link=front.link_of)
    runner = await front.serve(settings.web_listen, settings.web_port)
    host = settings.web_listen if ":" not in settings.web_listen else f"[{settings.web_listen}]"
    print(f"Stack Advisor on the web: http://{host}:{settings.web_port}/  (Ctrl-C stops it)")
    try:
        await advisor.leads.resume()
        while not stop.is_set():  # leads due now and then, as the bot's job does
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEADS_EVERY_SECONDS)
            await advisor.leads.deliver_due()
    finally:
        await runner.cleanup()
        await advisor.leads.close()
        await advisor.store.close()


@dataclass(frozen=True, slots=True)
class _Note:
    """The one-time notice of the last step, and the choices of a "Did you mean…?"."""

    notice: Notice | None = None
    choices: tuple[str, ...] = ()
    #: A notice cookie came (it is taken away once the page is drawn).
    present: bool = False


async def _read_form(request: web.Request) -> dict[str, str]:
    """A form's fields (the first of each name), refusing more than MAX_FORM_BYTES (413) or
    anything that is not a urlencoded form in UTF-8 (400)."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    if request.content_type != "application/x-www-form-urlencoded":
        raise web.HTTPBadRequest()
    body = await request.content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, len(body))
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest() from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def accepted_language(header: str, knowledge: Knowledge) -> str:
    """The first language of an Accept-Language header we speak, by its q-value (English
    when none)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > 0:
            ranked.append((-q, index, tag.strip()))
    for _, _, tag in sorted(ranked):
        code = tag.replace("_", "-").split("-")[0].casefold()
        if code in knowledge.languages:
            return code
    return knowledge.language_for(None)


def _texts(k: Knowledge) -> Callable[..., str]:
    def t(key: str, **values: object) -> str:
        return k.text(key, **values)

    return t


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=False)


async def _not_found(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()


def _redirect(location: str) -> web.Response:
    """See Other: the browser asks for ``location`` next (after a form: POST-redirect-GET)."""
    return web.Response(status=303, headers={"Location": location})


def _cached(response: web.Response) -> web.Response:
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


async def _healthy(request: web.Request) -> web.Response:
    return web.Response(text="ok")
