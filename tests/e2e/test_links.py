"""End to end: /links lists every tracked link with its counts, /link sends its QR code as
print-quality files, and /stats shows links nobody used yet and a funnel picture."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import zxingcpp
from PIL import Image

from advisor import Knowledge
from fake_telegram import BotUser, FakeTelegram
from tests.e2e.conftest import FINTECH, MakeSettings, Office, running

BOT_LINK = "https://t.me/stack_advisor_test_bot?start="


def texts(user: BotUser) -> list[str]:
    return [m.text for m in user.messages() if m.kind == "text"]


def picture(data: bytes | None) -> Image.Image:
    assert data is not None
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- /link: the QR code as files ---------------------------------------------------------------


async def test_a_links_qr_code_comes_as_a_print_quality_png_and_an_svg_not_a_photo(
    office: Office,
) -> None:
    await office.admin.send_command("link", "spring_webinar")
    link_text, png, svg = office.admin.messages()[-3:]
    assert f"{BOT_LINK}spring_webinar" in link_text.text
    assert [png.kind, svg.kind] == ["document", "document"]
    assert not [m for m in office.admin.messages() if m.kind == "photo"]
    assert png.raw is not None and png.raw.document is not None
    assert png.raw.document.filename == "qr-spring_webinar.png"
    image = picture(png.raw.document.data)
    assert image.width >= 1000 and image.height == image.width
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [f"{BOT_LINK}spring_webinar"]
    assert "QR code for" in png.text
    assert svg.raw is not None and svg.raw.document is not None
    assert svg.raw.document.filename == "qr-spring_webinar.svg"
    assert svg.raw.document.data is not None
    assert ET.fromstring(svg.raw.document.data).tag == "{http://www.w3.org/2000/svg}svg"
    assert "SVG" in svg.text


async def test_sending_link_again_sends_the_same_qr_code_again(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    first = office.admin.messages()[-2].raw
    await office.admin.send_command("link", "spring_webinar")
    again = office.admin.messages()[-2].raw
    assert first is not None and first.document is not None
    assert again is not None and again.document is not None
    assert first.document.data == again.document.data


# -- /links --------------------------------------------------------------------------------------


async def test_links_lists_a_link_nobody_used_yet_with_zeros(office: Office) -> None:
    made = datetime.now(UTC)
    await office.admin.send_command("link", "spring_webinar")
    await office.admin.send_command("links")
    listed = office.admin.last_message()
    days = {made, datetime.now(UTC)}  # the same day, unless made just before midnight
    assert "1 tracked link, counted since it was made:" in listed.text
    assert any(f"spring_webinar · made {d:%b} {d.day}, {d.year}" in listed.text for d in days)
    assert "0 started, 0 finished, 0 shared, 0 leads" in listed.text
    assert "<code>/link spring_webinar</code>" in listed.html


async def test_links_count_someone_who_started_through_a_link(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    await office.admin.send_command("link", "autumn_fair")
    ann = office.fake.user("Ann")
    await ann.send_command("start", "spring_webinar")
    await office.admin.send_command("links")
    listed = office.admin.last_message().text
    assert "2 tracked links, newest first" in listed
    spring = listed[listed.index("spring_webinar") :]
    assert spring.splitlines()[1] == "1 started, 0 finished, 0 shared, 0 leads"
    autumn = listed[listed.index("autumn_fair") :]
    assert autumn.splitlines()[1] == "0 started, 0 finished, 0 shared, 0 leads"


async def test_links_count_a_finished_dialog_and_made_up_names_are_not_listed(
    office: Office,
) -> None:
    await office.admin.send_command("link", "ads")
    ann, mallory = office.fake.user("Ann"), office.fake.user("Mallory")
    await ann.send_command("start", "ads")
    for label in FINTECH:
        await ann.press(label)
    await mallory.send_command("start", "made_up_by_anyone")
    await office.admin.send_command("links")
    listed = office.admin.last_message().text
    assert "1 started, 1 finished, 0 shared, 0 leads" in listed
    assert "made_up_by_anyone" not in listed


async def test_links_before_any_link_was_made_says_how_to_make_one(office: Office) -> None:
    await office.admin.send_command("links")
    assert "No tracked links yet" in office.admin.last_message().text
    assert "/link spring_webinar" in office.admin.last_message().text


async def test_many_links_fit_telegrams_limit_and_the_older_ones_are_counted(
    office: Office,
) -> None:
    for number in range(23):
        await office.admin.send_command("link", f"campaign_{number:02}_" + "x" * 50)
    before = len(office.admin.messages())
    await office.admin.send_command("links")
    replies = office.admin.messages()[before:]
    assert replies and all(len(m.text) <= 4096 for m in replies)
    joined = "\n".join(m.text for m in replies)
    assert "23 tracked links" in joined
    assert joined.count("campaign_") == 20 + 1  # 20 listed, and the example of /link
    assert "…and 3 older links." in joined


async def test_an_admins_help_lists_links(office: Office) -> None:
    await office.admin.send_command("help")
    listed = office.admin.last_message().text
    assert "/links – Your tracked links with their counts and QR codes" in listed
    assert listed.index("/link –") < listed.index("/links –") < listed.index("/stats –")


async def test_links_looks_unknown_to_everyone_but_admins(office: Office) -> None:
    bob = office.fake.user("Bob")
    await bob.send_command("links")
    assert "don't know that command" in bob.last_message().text


# -- /stats --------------------------------------------------------------------------------------


async def test_stats_show_a_link_nobody_used_yet_with_zeros(office: Office) -> None:
    await office.admin.send_command("link", "fresh_flyer")
    await office.admin.send_command("stats")
    stats = texts(office.admin)[-1]
    assert stats.count("• fresh_flyer: 0 started, 0 finished (0%), 0 shared, 0 leads") == 2


async def test_stats_send_a_funnel_picture_after_the_text(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    ann = office.fake.user("Ann")
    await ann.send_command("start", "spring_webinar")
    await office.admin.send_command("stats")
    text, chart = office.admin.messages()[-2:]
    assert text.kind == "text" and "Statistics" in text.text
    assert chart.kind == "photo"
    assert chart.text == (
        "Funnel: started → finished → shared → leads. Last 30 days, 1 tracked link."
    )
    assert chart.raw is not None and chart.raw.photo is not None
    assert picture(chart.raw.photo.data).width == 720


async def test_a_russian_admin_gets_russian_plurals_in_links_and_stats(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    olga = fake.user("Olga", language_code="ru")
    async with running(make_settings(ADMIN_IDS=str(olga.id)), knowledge):
        for name in ("spring", "autumn"):
            await olga.send_command("link", name)
        assert "SVG" in olga.last_message().text and "QR" in olga.last_message().text
        ann = fake.user("Ann")
        await ann.send_command("start", "spring")
        await olga.send_command("links")
        listed = olga.last_message().text
        assert "2 ссылки для учёта, сначала новые" in listed
        assert "1 начал, 0 закончили, 0 поделились, 0 заявок" in listed
        assert "создана " in listed
        assert "Чтобы снова получить QR-код ссылки" in listed
        await olga.send_command("stats")
        chart = olga.last_message()
        assert chart.kind == "photo"
        assert chart.text.endswith("Последние 30 дней, 2 ссылки для учёта.")
        assert "autumn: 0 начали, 0 закончили (0%), 0 поделились, 0 заявок" in texts(olga)[-1]
