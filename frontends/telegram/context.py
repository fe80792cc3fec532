"""Typed access to the bot's services from every handler (python-telegram-bot's ContextTypes)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import User
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from advisor import Knowledge
from bootstrap import Advisor
from dialogs.admin import Admin
from dialogs.conversation import Conversation
from dialogs.sharecode import ShareCodes
from dialogs.turns import Person
from handoff import LeadOffice
from settings import Settings
from storage.base import Store

from .acks import Acknowledgements
from .delivery import TelegramTransport
from .presenter import TelegramPresenter

if TYPE_CHECKING:
    from frontends.metrics import Metrics
    from frontends.web.site import WebFrontEnd


@dataclass(frozen=True, slots=True)
class Services:
    """What the handlers need, wired once in :func:`frontends.telegram.app.build_application`."""

    settings: Settings
    knowledge: Knowledge
    conversation: Conversation
    store: Store
    presenter: TelegramPresenter
    transport: TelegramTransport
    share_codes: ShareCodes
    #: Leads: the desk that delivers them, and what the checks of the sales chat found.
    leads: LeadOffice
    #: The admins' use cases.
    admin: Admin
    #: Which updates' turns did not commit, so they are not acknowledged (see :mod:`.acks`).
    acks: Acknowledgements = dataclasses.field(default_factory=Acknowledgements)

    @classmethod
    def of(cls, advisor: Advisor[TelegramPresenter], transport: TelegramTransport) -> Services:
        """The services of a bootstrapped advisor (see :func:`bootstrap.bootstrap`)."""
        return cls(
            advisor.settings,
            advisor.knowledge,
            advisor.conversation,
            advisor.store,
            advisor.presenter,
            transport,
            advisor.share_codes,
            advisor.leads,
            advisor.admin,
        )

    def speaking(self, language: str | None) -> Services:
        """The services with the presenter and texts in a language (English if not loaded)."""
        presenter = self.presenter.speaking(language)
        if presenter is self.presenter:
            return self
        return dataclasses.replace(self, presenter=presenter, knowledge=presenter.k)

    def for_user(self, user: User | None) -> Services:
        """The services speaking this person's language: the one of their last turn here,
        else the one their Telegram is in."""
        if user is None:
            return self
        person = Person(0, user.id, language=user.language_code)
        return self.speaking(self.conversation.language_of(person))

    def for_admins(self) -> Services:
        """The services speaking the admins' language (ADMIN_LANGUAGE): for the sales chat
        and the alerts no admin asked for."""
        return self.speaking(self.knowledge.language_for(self.settings.admin_language))


class BotData:
    """The application's ``bot_data``: the services, set once when the application is built."""

    def __init__(self) -> None:
        self._services: Services | None = None
        #: The web pages served beside the bot (WEB_URL set), if any.
        self.web: WebFrontEnd | None = None
        #: The Prometheus metrics (``GET /metrics``), set when the application is built.
        self.metrics: Metrics | None = None

    @property
    def services(self) -> Services:
        assert self._services is not None, "services are wired in build_application"
        return self._services

    @services.setter
    def services(self, services: Services) -> None:
        self._services = services


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every handler gets: ``context.services`` is typed."""

    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)
BotApp = Application[
    ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[BotContext]
]
