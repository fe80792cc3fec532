"""The sales chat in Telegram: is the bot able to post there, and posting.

At start-up and every minute after, :func:`check_sales_chat` asks Telegram about
``SALES_CHAT_ID`` (``getChat``, then ``getChatMember`` on the bot itself): the chat must exist
for the bot, the bot must be in it, and allowed to send messages. What that means for the
hand-off is decided in :mod:`handoff.sales_chat`.
"""

from __future__ import annotations

from telegram import Bot, ChatFullInfo, ChatMember
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from advisor import Knowledge
from handoff import ChatCheck, DeliveryFailed
from handoff.lead_texts import sales_summary
from storage.base import Lead

#: Telegram's words for a sales chat the bot cannot use at all (not a passing failure).
CHAT_UNUSABLE = ("chat not found", "not enough rights", "have no rights", "need administrator")


async def check_sales_chat(bot: Bot, chat_id: int) -> ChatCheck:
    """Whether the bot can post in the chat: it exists for the bot, the bot is in it, and may
    send messages there (in a channel: as an administrator allowed to post)."""
    try:
        chat = await bot.get_chat(chat_id)
        if chat.type == ChatType.PRIVATE:  # a person's chat: they have started the bot
            return ChatCheck(title=chat.full_name or str(chat_id))
        member = await bot.get_chat_member(chat_id, bot.id)
    except Forbidden as exc:
        text = exc.message.lower()
        problem = "kicked" if "kicked" in text else "not_member" if "member" in text else "other"
        return ChatCheck(problem, reason=exc.message)
    except BadRequest as exc:
        problem = "not_found" if "not found" in exc.message.lower() else "other"
        return ChatCheck(problem, reason=exc.message)
    except ChatMigrated as exc:  # a group upgraded to a supergroup has a new id
        return ChatCheck("migrated", reason=str(exc.new_chat_id))
    except (NetworkError, RetryAfter) as exc:  # timeouts and 5xx too: try again later
        return ChatCheck("other", reason=str(exc), known=False)
    except TelegramError as exc:  # anything else Telegram refuses
        return ChatCheck("other", reason=str(exc))
    problem = _membership_problem(chat, member)
    return ChatCheck(problem, title=chat.title or str(chat_id), reason=member.status)


def _membership_problem(chat: ChatFullInfo, member: ChatMember) -> str:
    status = member.status
    if status in (ChatMemberStatus.LEFT,):
        return "not_member"
    if status == ChatMemberStatus.BANNED:
        return "kicked"
    if status == ChatMemberStatus.OWNER:
        return ""
    if status == ChatMemberStatus.ADMINISTRATOR:
        posts = getattr(member, "can_post_messages", None)
        return "no_rights" if chat.type == ChatType.CHANNEL and not posts else ""
    if chat.type == ChatType.CHANNEL:  # only administrators post in a channel
        return "no_rights"
    if status == ChatMemberStatus.RESTRICTED:
        if not getattr(member, "is_member", True):
            return "not_member"
        return "" if getattr(member, "can_send_messages", False) else "no_rights"
    permissions = chat.permissions
    if permissions is not None and permissions.can_send_messages is False:
        return "no_rights"  # members may not write there; the bot would need to be an admin
    return ""


class SalesChatSender:
    """Posts a lead's summary in the sales chat (a :data:`handoff.LeadSender`)."""

    def __init__(self, bot: Bot, chat_id: int, knowledge: Knowledge) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.knowledge = knowledge

    async def __call__(self, lead: Lead) -> None:
        try:
            await self.bot.send_message(self.chat_id, sales_summary(lead, self.knowledge))
        except RetryAfter as exc:  # the rate limiter already waited and gave up
            wait = exc._retry_after.total_seconds()  # (the public form warns until PTB 23)
            raise DeliveryFailed(f"Telegram asked to wait {wait:g} s", retry_after=wait) from exc
        except Forbidden as exc:
            raise DeliveryFailed(f"Telegram refused: {exc.message}", unusable=True) from exc
        except ChatMigrated as exc:
            raise DeliveryFailed(
                f"the group became a supergroup: set SALES_CHAT_ID to {exc.new_chat_id}",
                unusable=True,
            ) from exc
        except BadRequest as exc:
            unusable = any(words in exc.message.lower() for words in CHAT_UNUSABLE)
            raise DeliveryFailed(f"Telegram refused: {exc.message}", unusable=unusable) from exc
        except TelegramError as exc:  # timeouts, 5xx, no connection
            raise DeliveryFailed(f"Telegram did not take it: {exc}") from exc
