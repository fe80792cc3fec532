"""Translations: ``data/i18n/<code>/`` laid over the English data, checked key by key.

A language is a folder of four files (see docs/translating.md): ``texts.yaml`` (every text,
by the same dotted keys), ``questions.yaml`` and ``criteria.yaml`` (the text fields only, by
id) and ``vocabulary.yaml`` (the words typed answers are read with, in that language). Ids,
weights and scoring come from English, so every language gives the same advice.

Every problem of every language is reported at once, each naming its file and key: a missing
translation is an error, never a silent fall-back to English.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from .errors import DataError, DataErrors
from .loading import (
    MAX_GLOSS,
    MAX_LABEL,
    MAX_NAME,
    MAX_SHORT,
    _display,
    _flatten,
    _Node,
    _read_yaml,
    _single_words,
    _words,
    beyond_mark,
    check_plurals,
    load_vocabulary,
    placeholders,
    unmarked_whys,
)
from .model import STACKS, Criterion, Knowledge, Option, OwnReason, Question, Source, Stack

#: Where the translations live, under the data folder: one folder per language code.
I18N_DIR = "i18n"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
#: Telegram's limit for a command's description in the menu (setMyCommands).
MAX_COMMAND_DESCRIPTION = 256
MAX_LANGUAGE_NAME = 30
#: English words that give away an untranslated text when two different ones show up in it.
#: None of them is a common word of Spanish, Portuguese or Russian ("do", "no", "for" and "a"
#: are Portuguese or Spanish words, so they are not here).
ENGLISH_MARKERS = frozenset(
    [
        "the",
        "your",
        "you",
        "and",
        "with",
        "which",
        "what",
        "will",
        "this",
        "that",
        "is",
        "are",
        "of",
        "to",
        "we",
        "it",
        "be",
        "an",
        "or",
        "if",
        "not",
        "our",
        "would",
        "should",
        "can",
        "from",
        "have",
        "has",
        "does",
        "there",
        "they",
        "their",
        "when",
        "how",
        "why",
        "about",
    ]
)
_LETTERS = re.compile(r"[^\W\d_]+")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def languages_in(data_dir: Path) -> list[str]:
    """The language codes with a folder in ``data/i18n/``, sorted."""
    folder = data_dir / I18N_DIR
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_translations(
    english: Knowledge, data_dir: Path, names: Collection[str]
) -> dict[str, Knowledge]:
    """Every language in ``data/i18n/``, each checked against English; raises
    :class:`DataErrors` listing every problem found in any of them."""
    found: dict[str, Knowledge] = {}
    problems: list[DataError] = []
    for code in languages_in(data_dir):
        folder = data_dir / I18N_DIR / code
        if not LANGUAGE_CODE.match(code):
            problems.append(
                DataError(str(folder), "", "a language folder is named by its code: es, pt, ru…")
            )
            continue
        translation = _Translation(english, folder, code, names)
        knowledge = translation.load()
        problems += translation.problems
        if knowledge is not None:
            found[code] = knowledge
    if problems:
        raise DataErrors(problems)
    return found


class _Translation:
    """One language's files, read against English, collecting problems rather than stopping."""

    def __init__(self, english: Knowledge, folder: Path, code: str, names: Collection[str]):
        self.english = english
        self.folder = folder
        self.code = code
        self.names = [n.casefold() for n in sorted(names, key=len, reverse=True)]
        self.problems: list[DataError] = []

    def load(self) -> Knowledge | None:
        vocabulary = self._guard(lambda: load_vocabulary(self.folder))
        texts = self._guard(self._texts)
        if vocabulary is None:
            return None
        fillers = _single_words(vocabulary.fillers)
        questions = self._guard(lambda: self._questions(fillers))
        criteria = self._guard(self._criteria)
        if texts is None or questions is None or criteria is None:
            return None
        source, translated_criteria, own_reasons = criteria
        for question in unmarked_whys(questions, texts[0]):
            self.problems.append(
                DataError(
                    _display(self.folder / "questions.yaml"),
                    f"questions.{question.id}.why",
                    "its answers give points beyond the article, so its why must say so with "
                    f"the mark “{beyond_mark(texts[0])}” (texts.yaml, result.beyond_article)",
                )
            )
        return dataclasses.replace(
            self.english,
            source=source,
            criteria=translated_criteria,
            own_reasons=own_reasons,
            questions=questions,
            texts=texts[0],
            plurals=texts[1],
            vocabulary=vocabulary,
            language=self.code,
        )

    def _guard(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except DataErrors as exc:
            self.problems += exc.problems
        except DataError as exc:
            self.problems.append(exc)
        return None

    # -- texts.yaml ------------------------------------------------------------------------

    def _texts(self) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        node = _read_yaml(self.folder, "texts.yaml")
        plurals: dict[str, dict[str, str]] = {}
        problems: list[DataError] = []
        texts = _flatten(node, plurals=plurals, problems=problems)
        english = self.english
        problems += check_plurals(node.file, self.code, plurals)
        for key, original in english.texts.items():
            if key not in texts:
                problems.append(DataError(node.file, key, "missing translation"))
                continue
            forms = plurals.get(key) or {"other": texts[key]}
            wanted = placeholders(original).union(
                *map(placeholders, english.plurals.get(key, {}).values())
            )
            for category, form in forms.items():
                got = placeholders(form)
                allowed_missing = {"count"} if category == "one" else set()
                if got - wanted or (wanted - got) - allowed_missing:
                    problems.append(
                        DataError(
                            node.file,
                            key if len(forms) == 1 else f"{key}.{category}",
                            f"placeholders {_braced(got)} differ from English {_braced(wanted)}",
                        )
                    )
                self._check_language(node.file, key, form, original)
        for key in texts:
            if key not in english.texts:
                problems.append(DataError(node.file, key, "not a key of the English texts.yaml"))
        for key, text in texts.items():
            if (
                key.startswith("telegram.commands.")
                and not 1 <= len(text) <= MAX_COMMAND_DESCRIPTION
            ):
                problems.append(
                    DataError(
                        node.file,
                        key,
                        f"a command's description is 1 to {MAX_COMMAND_DESCRIPTION} characters",
                    )
                )
        name = texts.get("language.name", "")
        if len(name) > MAX_LANGUAGE_NAME:
            problems.append(
                DataError(node.file, "language.name", f"at most {MAX_LANGUAGE_NAME} characters")
            )
        if problems:
            raise DataErrors(problems)
        return texts, plurals

    def _check_language(self, file: str, key: str, text: str, original: str) -> None:
        """A translated text must not be the English one, nor have English words left in it."""
        if not self._has_words(original):
            return  # "{number}. {title}", "✓ {label}": nothing to translate
        if " ".join(text.split()).casefold() == " ".join(original.split()).casefold():
            if self._has_words(text):
                self.problems.append(
                    DataError(file, key, f"not translated (the same as English): {text!r}")
                )
            return
        english = sorted(ENGLISH_MARKERS.intersection(_LETTERS.findall(text.casefold())))
        if len(english) >= 2:
            self.problems.append(
                DataError(
                    file, key, f"looks like English is left in it ({', '.join(english)}): {text!r}"
                )
            )

    def _has_words(self, text: str) -> bool:
        """Whether a text has words of its own, beyond placeholders, names and numbers."""
        rest = _PLACEHOLDER.sub(" ", text).casefold()
        for name in self.names:
            rest = rest.replace(name, " ")
        return any(len(word) > 1 for word in _LETTERS.findall(rest))

    # -- questions.yaml --------------------------------------------------------------------

    def _questions(self, fillers: Collection[str]) -> tuple[Question, ...] | None:
        """Every question translated, or None (each problem is recorded)."""
        root = _read_yaml(self.folder, "questions.yaml")
        node = root.child("questions")
        by_id = self._same_ids(node, [q.id for q in self.english.questions], "question")
        questions = []
        for question in self.english.questions:
            one = by_id.get(question.id)
            if one is not None:
                translated = self._question(one, question, fillers)
                if translated is not None:
                    questions.append(translated)
        if len(questions) != len(self.english.questions):
            return None
        return tuple(questions)

    def _question(
        self, node: _Node, question: Question, fillers: Collection[str]
    ) -> Question | None:
        fields = {
            "short": (question.short, MAX_SHORT),
            "prompt": (question.prompt, None),
            "why": (question.why, None),
            "hint": (question.hint, None),
        }
        self._only_keys(node, (*fields, "options"))
        texts: dict[str, Any] = {
            name: self._text(node, name, original, limit)
            for name, (original, limit) in fields.items()
        }
        options_node = node.child("options")
        by_id = self._same_ids(options_node, [o.id for o in question.options], "option")
        options = []
        for option in question.options:
            one = by_id.get(option.id)
            if one is not None:
                translated = self._option(one, option, fillers)
                if translated is not None:
                    options.append(translated)
        labels = [o.label.casefold() for o in options]
        for option in options:
            if labels.count(option.label.casefold()) > 1:
                self.problems.append(
                    options_node.child(option.id)
                    .child("label")
                    .fail(f"duplicate label {option.label!r}")
                )
        if None in texts.values() or len(options) != len(question.options):
            return None
        return dataclasses.replace(question, options=tuple(options), **texts)

    def _option(self, node: _Node, option: Option, fillers: Collection[str]) -> Option | None:
        allowed = ["label"]
        texts: dict[str, Any] = {"label": self._text(node, "label", option.label, MAX_LABEL)}
        for name in ("because", "because_they"):
            original = getattr(option, name)
            if original:
                allowed.append(name)
                texts[name] = self._text(node, name, original, None)
        lists: dict[str, Any] = {}
        for name in ("synonyms", "if_negated"):
            if not getattr(option, name):
                continue
            allowed.append(name)
            child = node.child(name)
            if child.value is None:
                self.problems.append(child.fail("missing translation"))
                return None
            try:
                lists[name] = _words(child, fillers=fillers)
            except DataError as exc:
                self.problems.append(exc)
                return None
        fits = option.fits
        if option.fits:
            allowed.append("fit")
            fit_node = node.child("fit")
            if fit_node.value is None:
                self.problems.append(fit_node.fail("missing translation"))
                return None
            self._only_keys(fit_node, [f.stack for f in option.fits])
            translated = []
            for fit in option.fits:
                reason = self._text(fit_node, fit.stack, fit.reason, None)
                if reason is None:
                    return None
                translated.append(dataclasses.replace(fit, reason=reason))
            fits = tuple(translated)
        self._only_keys(node, allowed)
        if None in texts.values():
            return None
        return dataclasses.replace(option, fits=fits, **lists, **texts)

    # -- criteria.yaml ---------------------------------------------------------------------

    def _criteria(
        self,
    ) -> tuple[Source, tuple[Criterion, ...], tuple[OwnReason, ...]] | None:
        """The source, every criterion and every own reason translated, or None (each problem
        is recorded)."""
        root = _read_yaml(self.folder, "criteria.yaml")
        self._only_keys(root, ("source", "criteria", "own_reasons"))
        source_node = root.child("source")
        source = self.english.source
        self._only_keys(source_node, ("conclusion",))
        conclusion = self._text(source_node, "conclusion", source.conclusion, None)
        node = root.child("criteria")
        by_id = self._same_ids(node, [c.id for c in self.english.criteria], "criterion")
        criteria = []
        for criterion in self.english.criteria:
            one = by_id.get(criterion.id)
            if one is None:
                continue
            fields = {
                "title": (criterion.title, None),
                "gloss": (criterion.gloss, MAX_GLOSS),
                "summary": (criterion.summary, None),
                "favours": (criterion.favours, None),
            }
            self._only_keys(one, (*fields, "stacks", "quote_translation"))
            texts: dict[str, Any] = {
                name: self._text(one, name, original, limit)
                for name, (original, limit) in fields.items()
            }
            stacks_node = one.child("stacks")
            self._only_keys(stacks_node, STACKS)
            stacks: dict[Stack, Any] = {
                s: self._text(stacks_node, s, criterion.stacks[s], None) for s in STACKS
            }
            quote = self._text(one, "quote_translation", criterion.quote, None)
            if None in texts.values() or None in stacks.values() or quote is None:
                continue
            criteria.append(
                dataclasses.replace(criterion, stacks=stacks, quote_translation=quote, **texts)
            )
        own = self._own_reasons(root.child("own_reasons"))
        if conclusion is None or len(criteria) != len(self.english.criteria) or own is None:
            return None
        return dataclasses.replace(source, conclusion=conclusion), tuple(criteria), own

    def _own_reasons(self, node: _Node) -> tuple[OwnReason, ...] | None:
        """Every own reason's name and summary translated, or None."""
        english = self.english.own_reasons
        if not english:
            return ()
        by_id = self._same_ids(node, [r.id for r in english], "own reason")
        reasons = []
        for reason in english:
            one = by_id.get(reason.id)
            if one is None:
                continue
            self._only_keys(one, ("name", "summary"))
            name = self._text(one, "name", reason.name, MAX_NAME)
            summary = self._text(one, "summary", reason.summary, None)
            if name is not None and summary is not None:
                reasons.append(dataclasses.replace(reason, name=name, summary=summary))
        return tuple(reasons) if len(reasons) == len(english) else None

    # -- shared checks ---------------------------------------------------------------------

    def _text(self, node: _Node, key: str, original: str, limit: int | None) -> str | None:
        """A translated text field, checked: present, within its limit, really translated."""
        if node.value is None:
            return None  # the missing parent is reported already
        try:
            text = node.text(key, max_len=limit)
        except DataError as exc:
            missing = node.child(key).value is None
            self.problems.append(node.child(key).fail("missing translation") if missing else exc)
            return None
        self._check_language(node.file, node.child(key).path, text, original)
        return text

    def _same_ids(self, node: _Node, ids: list[str], what: str) -> dict[str, _Node]:
        """The children of a mapping keyed by id: the English ids, all of them, in order."""
        try:
            value = node.mapping()
        except DataError as exc:
            self.problems.append(exc)
            return {}
        got = [str(k) for k in value]
        for ident in ids:
            if ident not in got:
                self.problems.append(
                    node.child(ident).fail(f"missing {what} (every {what} of English is needed)")
                )
        for ident in got:
            if ident not in ids:
                self.problems.append(
                    node.child(ident).fail(f"unknown {what} {ident!r} (known: {', '.join(ids)})")
                )
        common = [i for i in got if i in ids]
        if common != [i for i in ids if i in got]:
            self.problems.append(
                node.fail(f"{what}s in another order than English: {', '.join(ids)}")
            )
        return {ident: node.child(ident) for ident in common}

    def _only_keys(self, node: _Node, known: Iterable[str]) -> None:
        if not isinstance(node.value, dict):
            if node.value is None:
                self.problems.append(node.fail("missing translation"))
            else:
                self.problems.append(node.fail("expected a mapping"))
            return
        known = tuple(known)
        for key in node.value:
            if key not in known:
                self.problems.append(
                    node.child(str(key)).fail(
                        f"{key!r} is not translated here (translated: {', '.join(known)})"
                    )
                )


def _braced(names: Iterable[str]) -> str:
    shown = ", ".join("{" + n + "}" for n in sorted(names))
    return shown or "none"
