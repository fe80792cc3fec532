"""The latest leads in ``/leads``, as words: who, when, what they were advised, where they came
from, and how each delivery went — in the admin's language, in messages Telegram takes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from advisor import Knowledge
from frontends.telegram import callbacks
from frontends.telegram.leads import how_many, html, keyboard, pack
from frontends.telegram.presenter import MESSAGE_LIMIT, units
from handoff.desk import Waiting
from handoff.lead_texts import OLDER, LeadButton, Note, latest_leads, leads_empty
from handoff.office import LATEST_MOST, LATEST_SHOWN
from storage.base import DELIVERED, HANDLED, PENDING, Lead, LeadDelivery

#: 2026-12-07 14:01 UTC, when the lead came.
AT = int(datetime(2026, 12, 7, 14, 1, tzinfo=UTC).timestamp())
MINUTE, DAY = 60, 86400


def a_lead(number: int = 12, *, source: str | None = "spring", language: str = "pt") -> Lead:
    return Lead(
        7, 7, "Ada", "ada@example.org", source, "django", {}, AT, number, "k", "telegram", language
    )


def a_delivery(
    lead: Lead,
    destination: str = "telegram",
    status: str = PENDING,
    *,
    attempts: int = 0,
    next_at: int = AT,
    error: str | None = None,
    done_at: int | None = None,
) -> LeadDelivery:
    return LeadDelivery(1, lead, destination, status, attempts, next_at, error, None, done_at)


def lines_of(waiting: Waiting, knowledge: Knowledge, now: int = AT + 5 * MINUTE) -> list[str]:
    """The lead's note as lines, its headline first."""
    [_, note] = latest_leads([waiting], more=False, older=False, knowledge=knowledge, now=now)
    return [note.headline, *note.lines]


def test_a_delivered_lead_says_who_when_what_where_from_and_when_it_reached_the_sales_chat(
    knowledge: Knowledge,
) -> None:
    lead = a_lead()
    delivered = a_delivery(lead, status=DELIVERED, attempts=1, done_at=AT + MINUTE)
    assert lines_of(Waiting(lead, (delivered,)), knowledge) == [
        "Lead #12 · 2026-12-07 14:01 UTC · Ada",
        "Django · Link: spring · Português",
        "• Sales chat: delivered 14:02",
    ]


def test_a_failing_crm_hook_shows_waiting_its_next_try_how_often_and_why(
    knowledge: Knowledge,
) -> None:
    lead = a_lead()
    failing = a_delivery(
        lead, "webhook", attempts=3, next_at=AT + 9 * MINUTE, error="answered 500 Server Error"
    )
    assert lines_of(Waiting(lead, (failing,)), knowledge)[-1] == (
        "• CRM hook: waiting, next try 14:10 (3 tries so far; last problem: answered 500 Server "
        "Error)"
    )
    due = a_delivery(lead, "webhook", attempts=1, next_at=AT, error="timed out")
    assert lines_of(Waiting(lead, (due,)), knowledge)[-1] == (
        "• CRM hook: waiting, trying again now (1 try so far; last problem: timed out)"
    )


def test_a_lead_not_tried_yet_is_being_sent_and_a_handled_one_says_so_with_its_time(
    knowledge: Knowledge,
) -> None:
    lead = a_lead()
    fresh = a_delivery(lead, "webhook")
    handled = a_delivery(lead, status=HANDLED, done_at=AT + DAY + 3 * MINUTE)
    assert lines_of(Waiting(lead, (handled, fresh)), knowledge)[-2:] == [
        "• Sales chat: marked as handled 2026-12-08 14:04",  # another day: with its date
        "• CRM hook: waiting, sending now",
    ]


def test_a_lead_without_a_link_language_or_destination_says_so_plainly(
    knowledge: Knowledge,
) -> None:
    lead = a_lead(source=None, language="")
    assert lines_of(Waiting(lead, ()), knowledge)[1:] == [
        "Django · Link: (no link)",
        "• Not sent anywhere: no sales chat or CRM hook was set up then",
    ]


def test_a_web_visitor_without_a_name_is_named_by_where_they_came_from(
    knowledge: Knowledge,
) -> None:
    lead = Lead(0, 5, "", "ada@example.org", None, "django", {}, AT, 4, "k", "web", "en")
    assert (
        lines_of(Waiting(lead, ()), knowledge)[0] == "Lead #4 · 2026-12-07 14:01 UTC · the website"
    )


def test_a_long_name_or_reason_is_cut_short_on_one_line(knowledge: Knowledge) -> None:
    lead = Lead(7, 7, "Ada\n" + "x" * 500, "c", "s", "django", {}, AT, 3, "k")
    failing = a_delivery(lead, attempts=1, next_at=AT + DAY, error="bad\n" + "y" * 500)
    head, _, line = lines_of(Waiting(lead, (failing,)), knowledge)
    assert head.endswith("…") and "\n" not in head and len(head) < 200
    assert "last problem: bad yyy" in line and line.endswith("…)") and len(line) < 250


def test_the_latest_leads_have_a_title_and_a_show_older_button_under_the_last_only_when_more(
    knowledge: Knowledge,
) -> None:
    recent = [Waiting(a_lead(number), ()) for number in (9, 8, 7)]
    title, *notes = latest_leads(recent, more=True, older=False, knowledge=knowledge, now=AT)
    assert title.headline == "The latest 3 leads, newest first"
    assert [n.headline.split(" · ")[0] for n in notes] == ["Lead #9", "Lead #8", "Lead #7"]
    assert [n.buttons for n in notes[:-1]] == [(), ()]
    assert notes[-1].buttons == (LeadButton("⬇️ Show older leads", OLDER, 7),)
    alone = latest_leads(recent[:1], more=False, older=True, knowledge=knowledge, now=AT)
    assert alone[0].headline == "1 older lead" and alone[1].buttons == ()
    assert latest_leads([], more=False, older=False, knowledge=knowledge, now=AT) == []


@pytest.mark.parametrize(
    ("count", "title", "tries"),
    [
        (1, "Последние заявки: 1", "уже 1 попытка"),
        (3, "Последние 3 заявки, сначала новые", "уже 3 попытки"),
        (5, "Последние 5 заявок, сначала новые", "уже 5 попыток"),
        (21, "Последние заявки: 21", "уже 21 попытка"),
    ],
)
def test_a_russian_admin_reads_the_latest_leads_in_russian_with_the_right_plurals(
    knowledge: Knowledge, count: int, title: str, tries: str
) -> None:
    ru = knowledge.speaking("ru")
    lead = a_lead()
    failing = a_delivery(lead, attempts=count, next_at=AT + 9 * MINUTE, error="500")
    recent = [Waiting(lead, (failing,))] * count
    head, note, *_ = latest_leads(recent, more=False, older=False, knowledge=ru, now=AT)
    assert head.headline == title
    assert note.headline == "Заявка №12 · 2026-12-07 14:01 UTC · Ada"
    assert note.lines == (
        "Django · Ссылка: spring · Português",
        f"• Чат продаж: ждёт, следующая попытка 14:10 ({tries}; последняя ошибка: 500)",
    )


@pytest.mark.parametrize(
    ("language", "delivered", "title"),
    [
        ("es", "• Chat de ventas: entregado 14:02", "Los últimos 2 contactos"),
        ("pt", "• Chat de vendas: entregue 14:02", "Os 2 contatos mais recentes"),
    ],
)
def test_spanish_and_portuguese_admins_read_the_latest_leads_in_their_language(
    knowledge: Knowledge, language: str, delivered: str, title: str
) -> None:
    k = knowledge.speaking(language)
    lead = a_lead()
    waiting = Waiting(lead, (a_delivery(lead, status=DELIVERED, done_at=AT + MINUTE),))
    head, note, _ = latest_leads([waiting] * 2, more=False, older=False, knowledge=k, now=AT)
    assert head.headline.startswith(title) and note.lines[-1] == delivered


def test_before_the_first_lead_admins_read_how_leads_come_in_in_every_language(
    knowledge: Knowledge,
) -> None:
    for language in knowledge.languages:
        k = knowledge.speaking(language)
        [line] = leads_empty(k.text).lines
        assert f"“{k.text('lead.button')}”" in line or f"«{k.text('lead.button')}»" in line


def test_many_long_leads_are_packed_into_messages_telegram_takes_never_cutting_one(
    knowledge: Knowledge,
) -> None:
    ru = knowledge.speaking("ru")
    awkward = "Zoë <b>&</b> 🎉" * 20
    recent = [
        Waiting(
            lead := Lead(7, 7, awkward, "c", awkward, "nodejs", {}, AT, n, "k", "web", "ru"),
            (a_delivery(lead, attempts=2, next_at=AT + DAY, error=awkward),),
        )
        for n in range(LATEST_MOST, 0, -1)
    ]
    notes = latest_leads(recent, more=True, older=False, knowledge=ru, now=AT)
    messages = pack(notes)
    assert len(messages) > 1
    assert all(units(text) <= MESSAGE_LIMIT for text, _ in messages)
    wholes = [html(note) for note in notes]
    assert "\n\n".join(text for text, _ in messages) == "\n\n".join(wholes)
    assert all(any(whole in text for text, _ in messages) for whole in wholes)
    assert [markup for _, markup in messages[:-1]] == [None] * (len(messages) - 1)
    assert messages[-1][1] == {
        "inline_keyboard": [
            [{"text": ru.text("admin.leads_show_older"), "callback_data": "L1|o|1"}]
        ]
    }
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in messages[0][0]  # every word escaped


def test_telegram_counts_an_emoji_as_two() -> None:
    assert units("🎉") == 2 and units("é") == 1


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (None, LATEST_SHOWN),
        ([], LATEST_SHOWN),
        (["30"], 30),
        (["all"], LATEST_MOST),
        (["ALL"], LATEST_MOST),
        (["0"], 1),
        (["100000"], LATEST_MOST),
        (["9999"], LATEST_MOST),
        (["-3"], LATEST_SHOWN),
        (["ten"], LATEST_SHOWN),
    ],
)
def test_leads_takes_how_many_to_list_from_the_number_after_it(
    args: list[str] | None, shown: int
) -> None:
    assert how_many(args) == shown


@pytest.mark.parametrize("lead_id", [0, 1, 35, 2**63 - 1])
def test_the_show_older_button_round_trips_within_64_bytes(lead_id: int) -> None:
    data = callbacks.encode_lead(callbacks.OLDER_LEADS, lead_id)
    assert len(data.encode()) <= 64
    assert callbacks.decode_lead(data) == callbacks.LeadPress(callbacks.OLDER_LEADS, lead_id)


def test_the_show_older_button_becomes_an_older_leads_button() -> None:
    note = Note(buttons=(LeadButton("Older", OLDER, 35),))
    assert keyboard(note) == {"inline_keyboard": [[{"text": "Older", "callback_data": "L1|o|z"}]]}
