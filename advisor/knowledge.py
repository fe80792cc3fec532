"""Loading the knowledge: the English data, then every translation in ``data/i18n/``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .loading import DEFAULT_DATA_DIR, load_english
from .model import Knowledge
from .translation import load_translations


def load_knowledge(
    data_dir: Path | str | None = None,
    *,
    required_texts: Iterable[str] = (),
    translations: bool = True,
) -> Knowledge:
    """Load and validate all data files, English and every translation in ``data/i18n/``.

    Raises :class:`DataError` on the first problem in English, or on every problem of the
    translations at once. ``required_texts`` names text keys the caller's front ends need
    beyond the result's own; ``translations=False`` loads English only.
    """
    folder = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    english, names = load_english(folder, required_texts=required_texts)
    if not translations:
        return english
    return english.with_languages(load_translations(english, folder, names))
