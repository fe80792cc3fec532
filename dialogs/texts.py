"""The text keys the dialog front ends need, validated at start-up."""

from __future__ import annotations

DIALOG_TEXTS = (
    "dialog.welcome",
    "dialog.progress",
    "dialog.why_title",
    "dialog.chosen",
    "dialog.notice.reask",
    "dialog.notice.ambiguous",
    "dialog.notice.or",
    "dialog.notice.back_on_first",
    "dialog.notice.restarted",
    "dialog.notice.restored_fresh",
    "dialog.notice.at_result",
    "dialog.notice.help",
    "dialog.notice.done",
    "words.back",
    "words.restart",
    "words.why",
    "words.help",
    "words.quit",
    "console.prompt",
    "console.hint",
    "console.result_hint",
    "console.goodbye",
    "console.telegram_hint",
)
