"""The hand-off to an expert ("Talk to an expert"): consent, then a phone number or an e-mail
address, stored as a lead in the turn that took it (the lead desk delivers it afterwards)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from advisor import recommend
from advisor.session import LEAD_CONSENT, LEAD_CONTACT
from handoff import HandOff
from storage.base import Lead, new_key

from .choices import YesNo
from .turns import Say, Show, Turn
from .views import AtResult, Consent, ContactRequest, Notice


class Expert:
    """The rules of the hand-off, for the conversation service."""

    def __init__(self, hand_off: HandOff | None) -> None:
        #: Where leads go; None: no hand-off to an expert at all.
        self.hand_off = hand_off

    def after(self, turn: Turn, state_before: str) -> None:
        """Leaving the contact step any other way than answering it says nothing is passed on."""
        if state_before != LEAD_CONTACT or turn.session.state == LEAD_CONTACT:
            return
        first = turn.replies[0] if turn.replies else None
        if isinstance(first, Show) and isinstance(first.view, AtResult):
            return  # the reply already says what happened (thanks, or nothing was shared)
        turn.replies.insert(0, Say(Notice("lead.left")))

    def open(self, turn: Turn, *, consented: bool = False) -> bool:
        """Whether the hand-off may go on in this chat now (:meth:`handoff.HandOff.open_for`)."""
        hand_off = self.hand_off
        return hand_off is not None and hand_off.open_for(
            private=turn.person.private, consented=consented
        )

    @staticmethod
    def yes_or_no(turn: Turn, text: str) -> YesNo | None:
        """A typed yes or no to the hand-off: the buttons' own words ("Yes, share", "No
        thanks") or the language's yes and no replies ("yep", "nope")."""
        k = turn.knowledge
        yes, no = k.text("lead.consent_yes"), k.text("lead.consent_no")
        return turn.dialog.replies.yes_or_no(text, yes=yes, no=no)

    def consent_text(self, turn: Turn, text: str) -> bool:
        """A typed answer to "pass on your contact?": a yes or a no acts as its button does,
        anything else but a command asks again. False: a command, for the dialog."""
        assert turn.session.state == LEAD_CONSENT
        said = self.yes_or_no(turn, text)
        if said == "no" or (said == "yes" and not self.open(turn)):
            self.decline(turn)
        elif said == "yes":
            turn.replies.append(Show(turn.dialog.hand_off(turn.session, "consent")))
        elif turn.dialog.interpreter.command(text) is None:
            turn.replies.append(Show(Consent(Notice("dialog.notice.reask"))))
        else:
            return False
        return True

    def contact_text(self, turn: Turn, text: str) -> None:
        """A typed answer while we wait for a contact: an e-mail address, or a no ("No
        thanks"); a yes asks for the contact again."""
        if not self.open(turn, consented=True):
            self.decline(turn)
            return
        said = self.yes_or_no(turn, text)
        if said == "no":
            self.decline(turn)
            return
        if said == "yes":
            turn.replies.append(Show(ContactRequest()))
            return
        try:
            email = validate_email(text.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            turn.replies.append(Say(Notice("lead.bad_email"), keep=True))
            return
        self._hand_over(turn, email)

    def contact(self, turn: Turn, phone: str, own: bool) -> None:
        if turn.session.state != LEAD_CONTACT or not self.open(turn, consented=True):
            turn.save = not turn.is_new
            turn.replies.append(Say(Notice("telegram.unsupported")))
        elif not own:  # someone else's card: not consented by them
            turn.replies.append(Say(Notice("lead.not_own_contact"), keep=True))
        else:
            self._hand_over(turn, f"+{phone.lstrip('+')}")

    def decline(self, turn: Turn) -> None:
        turn.dialog.hand_off(turn.session, "decline")
        view = turn.dialog.view(turn.session, notice=Notice("lead.declined"))
        turn.replies.append(Show(view))

    def _hand_over(self, turn: Turn, contact: str) -> None:
        """Store the lead (with a delivery owed to each destination) and thank the person."""
        session, person = turn.session, turn.person
        rec = recommend(turn.knowledge, session.answers)
        turn.lead = Lead(
            chat_id=person.chat_id,
            user_id=person.user_id,
            name=person.full_name,
            contact=contact,
            source=session.source,
            recommendation=rec.choice,
            answers=dict(rec.answers),
            key=new_key(),
            channel=person.channel,
            language=session.language,
        )
        turn.dialog.hand_off(session, "contacted")
        view = turn.dialog.view(session, notice=Notice("lead.thanks"))
        turn.replies.append(Show(view))
