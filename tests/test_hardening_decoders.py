"""Forged input: button data and share codes that we did not make are refused, never raised on."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor import Knowledge
from dialogs import actions
from dialogs.sharecode import ShareCodes, to36

#: Characters that our own formats use, plus the ones Python's int() quietly accepts.
#: Telegram user ids have at most 52 significant bits.
LARGEST_USER_ID = 2**52
NEAR_MISS = string.ascii_letters + string.digits + "|_-<?!+ \n\t" + "١٢٣ßé𝟙"


def near_miss_text(prefix: str) -> st.SearchStrategy[str]:
    """Text that starts like our format and then goes anywhere (finds more than random text)."""
    return st.text(alphabet=NEAR_MISS, max_size=70).map(lambda tail: prefix + tail)


# -- button data -----------------------------------------------------------------------------


def test_a_button_naming_an_owner_id_too_big_for_telegram_is_refused() -> None:
    fourteen_digits = "zzzzzzzzzzzzzz"
    assert actions.decode(f"1|{fourteen_digits}|0|team|python") is None
    assert actions.decode(f"1|{to36(2**63)}|0|team|python") is None


@pytest.mark.parametrize(
    "data",
    [
        "1|a|0|team|python\n",  # a trailing newline matched `$`
        "1|0a|0|team|python",  # a leading zero: not what encode writes
        "1|a|000000001|team|python",  # a round longer than encode allows
        "1|a|0|te\u0430m|python",  # a Cyrillic letter a
        "1|a|0|team|python" + "x" * 60,
    ],
)
def test_button_data_that_only_looks_like_ours_is_refused(data: str) -> None:
    assert actions.decode(data) is None


def test_the_largest_owner_id_a_button_can_name_still_decodes() -> None:
    data = actions.encode(LARGEST_USER_ID, 36**8 - 1, "team", "python")
    assert actions.decode(data) == actions.Press(LARGEST_USER_ID, 36**8 - 1, "team", "python")


@given(st.text(max_size=80) | near_miss_text("1|"))
def test_decoding_button_data_never_raises(data: str) -> None:
    press = actions.decode(data)
    if press is not None:
        assert 0 <= press.user_id < 2**53  # fits SQLite, and any JSON reader
        assert actions.encode(press.user_id, press.round, press.question, press.action) == data


@given(
    st.integers(0, LARGEST_USER_ID),
    st.integers(0, 36**8 - 1),
    st.from_regex(r"[a-z0-9_]{1,20}|-", fullmatch=True),
    st.from_regex(r"[a-z0-9_]{1,20}|[<?!]", fullmatch=True),
)
def test_every_button_we_make_decodes_to_what_it_was_made_from(
    user_id: int, round_: int, question: str, action: str
) -> None:
    data = actions.encode(user_id, round_, question, action)
    assert actions.decode(data) == actions.Press(user_id, round_, question, action)


# -- share codes -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def codes(knowledge: Knowledge) -> ShareCodes:
    return ShareCodes(knowledge, b"secret")


@pytest.mark.parametrize("mac", ["ünicode!", "ééééééé", "abcdefg\u2028", "𝟙𝟙𝟙𝟙𝟙𝟙𝟙𝟙"])
def test_a_share_code_with_a_non_ascii_signature_is_refused(codes: ShareCodes, mac: str) -> None:
    assert codes.decode("r_1abc" + mac) is None


@pytest.mark.parametrize("digits", ["1_0", " 10", "+10", "-10", "١٠"])
def test_a_share_code_whose_number_only_python_would_read_is_refused(
    codes: ShareCodes, digits: str
) -> None:
    body = "1" + digits
    assert codes.decode("r_" + body + codes._mac(body)) is None


@given(st.text(max_size=80) | near_miss_text("r_1"))
def test_decoding_a_share_code_never_raises(knowledge: Knowledge, payload: str) -> None:
    codes = ShareCodes(knowledge, b"secret")
    answers = codes.decode(payload)
    if answers is not None:
        assert codes.encode(answers) == payload
