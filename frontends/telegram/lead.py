"""The hand-off to a human expert: consent, a contact, and a summary for the sales chat."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from telegram import Update
from telegram.ext import ContextTypes

from advisor import recommend
from storage.sqlite import LEAD, Lead

from .turn import Turn


async def ask_consent(turn: Turn) -> None:
    """Says what will be shared and with whom, and asks for consent."""
    await turn.show(turn.svc.engine.hand_off(turn.session, "lead"))


async def consented(turn: Turn) -> None:
    """Asks for a contact: the share-contact button or a typed e-mail address."""
    await turn.show(turn.svc.engine.hand_off(turn.session, "consent"))


async def declined(turn: Turn) -> None:
    """Leaves the hand-off; nothing is shared."""
    turn.svc.engine.hand_off(turn.session, "decline")
    await turn.show(turn.svc.engine.view(turn.session, notice="lead.declined"))


async def contact_text(turn: Turn, text: str) -> None:
    """A typed answer while we wait for a contact: an e-mail address, or "No thanks"."""
    k = turn.svc.knowledge
    if text.strip().casefold() == k.text("lead.consent_no").casefold():
        await declined(turn)
        return
    try:
        email = validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        await turn.send_text(turn.svc.views.t("lead.bad_email"))
        return
    await hand_over(turn, email)


async def hand_over(turn: Turn, contact: str) -> None:
    """Stores the lead, posts the summary to the sales chat and thanks the user."""
    svc, session = turn.svc, turn.session
    k = svc.knowledge
    assert svc.settings.sales_chat_id is not None
    rec = recommend(k, session.answers)
    lead = Lead(
        chat_id=turn.chat_id,
        user_id=turn.user.id,
        name=turn.user.full_name,
        contact=contact,
        source=session.source,
        recommendation=rec.choice,
        answers=dict(rec.answers),
    )
    svc.engine.hand_off(session, "contacted")
    svc.store.add_lead(lead)
    svc.store.record_event(turn.user.id, LEAD, source=session.source, detail=rec.choice)
    turn.save()
    answers = []
    for question in k.questions:
        option = question.option(rec.answers.get(question.id))
        if option is not None:
            answers.append(
                k.text("lead.sales_answer", question=question.prompt, answer=option.label)
            )
    summary = k.text(
        "lead.sales_summary",
        name=lead.name,
        contact=contact,
        source=session.source or k.text("lead.no_source"),
        recommendation=k.text(f"stack.{rec.choice}"),
        confidence=k.text(f"confidence.{rec.confidence}"),
        answers="\n".join(answers),
    )
    await turn.bot.send_message(svc.settings.sales_chat_id, summary)
    await turn.show(svc.engine.view(session, notice="lead.thanks"))


async def contact_shared(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes a shared phone contact during the hand-off; elsewhere, it is just unsupported."""
    turn = Turn(update, context)
    message = update.effective_message
    assert message is not None and message.contact is not None
    if turn.is_repeat():
        return
    if turn.session.state != "lead_contact" or turn.svc.settings.sales_chat_id is None:
        await turn.send_text(turn.svc.views.t("telegram.unsupported"))
        return
    if message.contact.user_id != turn.user.id:  # someone else's card: not consented by them
        await turn.send_text(turn.svc.views.t("lead.not_own_contact"))
        return
    await hand_over(turn, f"+{message.contact.phone_number.lstrip('+')}")
