"""The Mini App's initData: only what Telegram signed with this bot's token names a user."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from frontends.web.initdata import (
    MAX_AGE_SECONDS,
    MAX_INIT_DATA_BYTES,
    MAX_USER_ID,
    InitDataError,
    WebAppUser,
    sign_init_data,
    verify_init_data,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = "7000000001:AAFakeTokenForTheInitDataTests_0123456"
OTHER_BOTS_TOKEN = "7000000002:AAAnotherBotsTokenForTheTests_654321"
NOW = 1_800_000_000
#: Shaped like Telegram's Ed25519 signature: 64 bytes, base64url without padding.
SIGNATURE = "TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg"


def user_json(**fields: Any) -> str:
    """A user field as Telegram writes it: compact JSON."""
    user: dict[str, Any] = {
        "id": 279058397,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "username": "ada",
        "language_code": "en",
        "allows_write_to_pm": True,
    }
    user.update(fields)
    return json.dumps({k: v for k, v in user.items() if v is not None}, separators=(",", ":"))


def telegram_fields(**overrides: str | None) -> dict[str, str]:
    """What Telegram puts in initData when a private chat opens the Mini App (None drops one)."""
    fields: dict[str, str | None] = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": user_json(),
        "auth_date": str(NOW - 60),
        "signature": SIGNATURE,
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def signed(**overrides: str | None) -> str:
    return sign_init_data(telegram_fields(**overrides), TOKEN)


def encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote, safe="")


def pairs_of(init_data: str) -> list[tuple[str, str]]:
    return parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)


def replaced(init_data: str, key: str, value: str) -> str:
    """``init_data`` with one field's value changed and its hash kept."""
    return encode([(k, value if k == key else v) for k, v in pairs_of(init_data)])


def refusal(init_data: str, *, token: str = TOKEN, now: float = NOW, **kw: Any) -> InitDataError:
    with pytest.raises(InitDataError) as refused:
        verify_init_data(init_data, token, now=now, **kw)
    return refused.value


# -- what Telegram signed --------------------------------------------------------------------


def test_init_data_signed_with_the_bots_token_names_the_user() -> None:
    user = verify_init_data(signed(), TOKEN, now=NOW)
    assert user == WebAppUser(
        id=279058397, first_name="Ada", last_name="Lovelace", language_code="en"
    )
    assert user.full_name == "Ada Lovelace"


def test_a_user_without_a_last_name_or_language_has_just_a_first_name() -> None:
    init_data = signed(user=user_json(last_name=None, language_code=None, username=None))
    user = verify_init_data(init_data, TOKEN, now=NOW)
    assert (user.last_name, user.language_code, user.full_name) == ("", None, "Ada")


def test_a_real_format_example_with_query_id_user_auth_date_signature_and_hash_verifies() -> None:
    # Telegram's field order and encoding: the user's JSON percent-encoded, "/" escaped as "\/".
    user = (
        '{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost",'
        '"language_code":"ru","is_premium":true,"allows_write_to_pm":true,'
        '"photo_url":"https:\\/\\/t.me\\/i\\/userpic\\/320\\/'
        '4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg"}'
    )
    init_data = sign_init_data(
        {
            "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
            "user": user,
            "auth_date": str(NOW - 3600),
            "signature": SIGNATURE,
        },
        TOKEN,
    )
    assert init_data.startswith("query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C")
    assert "&auth_date=1799996400&signature=" in init_data
    assert init_data.rsplit("&", 1)[1].startswith("hash=")
    assert verify_init_data(init_data, TOKEN, now=NOW) == WebAppUser(
        id=279058397, first_name="Vladislav", last_name="Kibenko", language_code="ru"
    )


# Published examples, signed by their authors and not by our signer, so a mistake that
# sign_init_data and verify_init_data shared could not make these pass.
#: The example of the Telegram Mini Apps documentation (docs.telegram-mini-apps.com), before
#: Telegram added the signature field.
PUBLISHED_2022 = (
    "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8",
    1662771648,
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A"
    "%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C"
    "%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648"
    "&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2",
)
#: The same project's newer example, with a signature field, which the hash covers.
PUBLISHED_2024 = (
    "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4",
    1733509682,
    "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22"
    "%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22"
    "%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22"
    "%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13"
    "LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private"
    "&auth_date=1733509682&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_"
    "RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6"
    "796a36d73",
)


def test_the_published_example_without_a_signature_field_verifies() -> None:
    token, auth_date, init_data = PUBLISHED_2022
    user = verify_init_data(init_data, token, now=auth_date + 10)
    assert user == WebAppUser(
        id=279058397, first_name="Vladislav", last_name="Kibenko", language_code="ru"
    )


def test_the_published_example_with_a_signature_field_verifies() -> None:
    token, auth_date, init_data = PUBLISHED_2024
    user = verify_init_data(init_data, token, now=auth_date + 10)
    assert user.full_name == "Vladislav + - ? / Kibenko"  # %2B is a plus, %20 a space


def test_the_signature_field_is_part_of_what_the_hash_covers() -> None:
    token, auth_date, init_data = PUBLISHED_2024
    without = encode([(k, v) for k, v in pairs_of(init_data) if k != "signature"])
    assert refusal(without, token=token, now=auth_date).reason == "forged"
    other = replaced(init_data, "signature", SIGNATURE.replace("T", "U", 1))
    assert refusal(other, token=token, now=auth_date).reason == "forged"


# -- forged -----------------------------------------------------------------------------------


def test_init_data_signed_by_another_bot_is_refused_as_forged() -> None:
    init_data = sign_init_data(telegram_fields(), OTHER_BOTS_TOKEN)
    assert refusal(init_data).reason == "forged"


def test_init_data_with_a_tampered_user_field_is_refused_as_forged() -> None:
    init_data = replaced(signed(), "user", user_json(id=1))
    assert refusal(init_data).reason == "forged"
    # also when only the raw text is edited, as an attacker in a browser would
    raw = signed().replace("279058397", "279058398")
    assert refusal(raw).reason == "forged"


def test_init_data_with_a_tampered_auth_date_is_refused_as_forged() -> None:
    old = sign_init_data(telegram_fields(auth_date=str(NOW - 2 * MAX_AGE_SECONDS)), TOKEN)
    refreshed = replaced(old, "auth_date", str(NOW))
    assert refusal(refreshed).reason == "forged"


def test_an_added_or_removed_field_is_refused_as_forged() -> None:
    assert refusal(signed() + "&start_param=admin").reason == "forged"
    without_query_id = encode([(k, v) for k, v in pairs_of(signed()) if k != "query_id"])
    assert refusal(without_query_id).reason == "forged"


def test_the_hash_is_checked_before_any_other_field_is_read() -> None:
    # Unsigned junk in auth_date and user: the refusal is "forged", not what those fields say.
    fake = encode([("auth_date", "yesterday"), ("user", "[1]"), ("hash", "0" * 64)])
    assert refusal(fake).reason == "forged"
    no_user = encode([("auth_date", str(NOW)), ("hash", "a" * 64)])
    assert refusal(no_user).reason == "forged"


# -- malformed and missing --------------------------------------------------------------------


def test_empty_init_data_is_refused_as_missing() -> None:
    assert refusal("").reason == "missing"


def test_init_data_without_a_hash_is_refused_as_malformed() -> None:
    without = encode([(k, v) for k, v in pairs_of(signed()) if k != "hash"])
    assert refusal(without).reason == "malformed"


@pytest.mark.parametrize(
    "bad_hash",
    ["", "0" * 63, "0" * 65, "g" * 64, "A" * 64, " " + "a" * 63, "a" * 63 + "\n"],
)
def test_a_hash_that_is_not_64_lowercase_hex_digits_is_refused_as_malformed(bad_hash: str) -> None:
    assert refusal(replaced(signed(), "hash", bad_hash)).reason == "malformed"


def test_the_right_hash_in_capitals_is_refused() -> None:
    init_data = signed()
    upper = replaced(init_data, "hash", dict(pairs_of(init_data))["hash"].upper())
    assert refusal(upper).reason == "malformed"


def test_init_data_with_a_duplicate_key_is_refused_as_malformed() -> None:
    init_data = signed()
    assert refusal(init_data + "&user=" + quote(user_json(id=1), safe="")).reason == "malformed"
    assert refusal(init_data + "&hash=" + "0" * 64).reason == "malformed"
    # the same value twice is still two fields
    query_id = "&query_id=AAHdF6IQAAAAAN0XohDhrOrc"
    assert refusal(init_data + query_id).reason == "malformed"


def test_huge_init_data_is_refused_as_malformed() -> None:
    padded = signed(start_param="x" * MAX_INIT_DATA_BYTES)  # correctly signed, but too big
    assert len(padded) > MAX_INIT_DATA_BYTES
    assert refusal(padded).reason == "malformed"
    assert refusal("a=1&" * 10_000).reason == "malformed"


def test_init_data_right_at_the_size_limit_still_verifies() -> None:
    room = MAX_INIT_DATA_BYTES - len(signed(start_param=""))
    at_limit = signed(start_param="x" * room)
    assert len(at_limit) == MAX_INIT_DATA_BYTES
    assert verify_init_data(at_limit, TOKEN, now=NOW).id == 279058397
    over = signed(start_param="x" * (room + 1))
    assert refusal(over).reason == "malformed"


@pytest.mark.parametrize(
    "init_data",
    [
        "user",  # a field without "="
        "a=1&&b=2",  # an empty field
        "auth_date=1&hash=" + "0" * 64 + "&",
        "user=%ff&hash=" + "0" * 64,  # a percent-escape that is not UTF-8
        "user=é&hash=" + "0" * 64,  # not percent-encoded
        "us%0Aer=1&hash=" + "0" * 64,  # a key with a line feed
        "=1&hash=" + "0" * 64,  # an empty key
        "user=a%0Aauth_date%3D1&hash=" + "0" * 64,  # a value with a line feed
    ],
)
def test_text_that_is_not_a_telegram_query_string_is_refused_as_malformed(init_data: str) -> None:
    assert refusal(init_data).reason == "malformed"


def test_signed_init_data_without_auth_date_is_refused_as_malformed() -> None:
    assert refusal(signed(auth_date=None)).reason == "malformed"


@pytest.mark.parametrize("auth_date", ["", "1.8e9", "-1", " 1799999940", "+1799999940", "١٢٣"])
def test_a_signed_auth_date_that_is_not_whole_seconds_is_refused_as_malformed(
    auth_date: str,
) -> None:
    assert refusal(signed(auth_date=auth_date)).reason == "malformed"


# -- stale ------------------------------------------------------------------------------------


def test_init_data_older_than_a_day_is_refused_as_stale() -> None:
    old = signed(auth_date=str(NOW - MAX_AGE_SECONDS - 1))
    assert refusal(old).reason == "stale"
    day_old = signed(auth_date=str(NOW - MAX_AGE_SECONDS))
    assert verify_init_data(day_old, TOKEN, now=NOW).id == 279058397


def test_a_shorter_max_age_refuses_sooner() -> None:
    hour_old = signed(auth_date=str(NOW - 3601))
    assert refusal(hour_old, max_age=3600).reason == "stale"
    assert verify_init_data(hour_old, TOKEN, now=NOW, max_age=3602).id == 279058397


def test_init_data_from_more_than_five_minutes_in_the_future_is_refused_as_stale() -> None:
    assert refusal(signed(auth_date=str(NOW + 301))).reason == "stale"
    assert refusal(signed(auth_date=str(NOW + 10 * MAX_AGE_SECONDS))).reason == "stale"
    # a clock a little behind Telegram's is fine
    assert verify_init_data(signed(auth_date=str(NOW + 300)), TOKEN, now=NOW).id == 279058397


# -- no user ----------------------------------------------------------------------------------


def test_signed_init_data_without_a_user_is_refused_as_no_user() -> None:
    # e.g. opened from an inline button in a group, where Telegram may send only chat fields
    assert refusal(signed(user=None)).reason == "no_user"


@pytest.mark.parametrize(
    "user",
    [
        "",
        "not json",
        "[279058397]",
        "279058397",
        '"279058397"',
        "null",
        '{"first_name":"Ada"}',  # no id
        user_json(id=0),
        user_json(id=-5),
        user_json(id=MAX_USER_ID + 1),
        user_json(id="279058397"),
        user_json(id=True),
        user_json(id=2.5),
        user_json(id=279058397.0),
        user_json(first_name=None),
        user_json(first_name=7),
        user_json(last_name=["Lovelace"]),
        user_json(language_code=1),
    ],
)
def test_a_signed_user_field_that_names_no_telegram_user_is_refused_as_no_user(user: str) -> None:
    assert refusal(signed(user=user)).reason == "no_user"


def test_the_largest_telegram_user_id_is_accepted() -> None:
    init_data = signed(user=user_json(id=MAX_USER_ID))
    assert verify_init_data(init_data, TOKEN, now=NOW).id == MAX_USER_ID


# -- what refusals say ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "init_data",
    [
        sign_init_data(telegram_fields(), OTHER_BOTS_TOKEN),
        signed(auth_date=str(NOW - 10 * MAX_AGE_SECONDS)),
        signed(user="not json " + TOKEN),
        signed(user=None),
        signed(auth_date="soon"),
        "user=%ff" + quote(TOKEN) + "&hash=" + "0" * 64,
        "just " + TOKEN,
        signed() + "&user=" + quote(TOKEN, safe=""),
    ],
)
def test_a_refusal_never_quotes_the_token_or_the_init_data(init_data: str) -> None:
    error = refusal(init_data)
    message = str(error) + repr(error.args)
    assert TOKEN not in message
    assert quote(TOKEN, safe="") not in message
    for key, value in parse_qsl(init_data, keep_blank_values=True, errors="replace"):
        assert len(value) < 4 or value not in message, key
    # nor do the exceptions it was chained from, which a traceback would print
    assert error.__cause__ is None
    assert error.__context__ is None


def test_an_empty_bot_token_is_a_configuration_error_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="bot token"):
        verify_init_data(signed(), "", now=NOW)
    with pytest.raises(ValueError, match="bot token"):
        sign_init_data(telegram_fields(), "")


@pytest.mark.parametrize("now", [float("nan"), float("inf")])
def test_a_time_that_is_not_finite_is_a_caller_error(now: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        verify_init_data(signed(), TOKEN, now=now)


@pytest.mark.parametrize(
    "fields",
    [{"hash": "0" * 64}, {"user name": "x"}, {"": "x"}, {"user": "a\nauth_date=1"}],
)
def test_signing_refuses_fields_that_verifying_would_refuse(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        sign_init_data(fields, TOKEN)


# -- properties -------------------------------------------------------------------------------

#: Any text but lone surrogates (not encodable) and line feeds (refused before the hash).
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=40)
USERS = st.builds(
    WebAppUser,
    id=st.integers(1, MAX_USER_ID),
    first_name=TEXT,
    last_name=TEXT,
    language_code=st.none() | st.sampled_from(["en", "ru", "de", "pt-br"]),
)


def fields_for(
    user: WebAppUser, *, auth_date: int, query_id: str, extra: str | None
) -> dict[str, str]:
    user_fields: dict[str, Any] = {"id": user.id, "first_name": user.first_name}
    if user.last_name:
        user_fields["last_name"] = user.last_name
    if user.language_code is not None:
        user_fields["language_code"] = user.language_code
    fields = {
        "query_id": query_id,
        "user": json.dumps(user_fields, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(auth_date),
        "signature": SIGNATURE,
    }
    if extra is not None:
        fields["start_param"] = extra
    return fields


SIGNED_FIELDS = st.builds(
    fields_for,
    USERS,
    auth_date=st.integers(NOW - MAX_AGE_SECONDS, NOW + 300),
    query_id=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
    extra=st.none() | TEXT,
)


@PROPERTY
@given(USERS, st.integers(NOW - MAX_AGE_SECONDS, NOW + 300))
def test_any_user_telegram_signed_for_is_named_exactly(user: WebAppUser, auth_date: int) -> None:
    fields = fields_for(user, auth_date=auth_date, query_id="AAQ", extra=None)
    assert verify_init_data(sign_init_data(fields, TOKEN), TOKEN, now=NOW) == user


def changed(data: st.DataObject, old: str) -> str:
    """A different value: a near miss of ``old`` (one character off) or any text at all."""
    how = data.draw(st.sampled_from(["replace", "insert", "delete", "anything"]))
    if how == "anything" or not old:
        new = data.draw(TEXT)
    else:
        at = data.draw(st.integers(0, len(old) - 1))
        char = data.draw(st.characters(codec="utf-8", exclude_characters="\n"))
        if how == "replace":
            new = old[:at] + char + old[at + 1 :]
        elif how == "insert":
            new = old[:at] + char + old[at:]
        else:
            new = old[:at] + old[at + 1 :]
    assume(new != old)
    return new


@PROPERTY
@given(SIGNED_FIELDS, st.data())
def test_any_change_of_any_one_value_of_signed_init_data_is_refused(
    fields: dict[str, str], data: st.DataObject
) -> None:
    pairs = pairs_of(sign_init_data(fields, TOKEN))
    verify_init_data(encode(pairs), TOKEN, now=NOW)  # re-encoding alone changes nothing
    index = data.draw(st.integers(0, len(pairs) - 1), label="field")
    key, old = pairs[index]
    pairs[index] = (key, changed(data, old))
    error = refusal(encode(pairs))
    assert error.reason in ({"malformed", "forged"} if key == "hash" else {"forged"})
