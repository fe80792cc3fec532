from tests.fake_telegram import FakeTelegram


async def test_a_user_finishes_the_dialog_by_buttons(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    print(ann.last_message().text)
    for label in ["Python", "Yes, payments or money", "Large and complex", "One application",
                  "No live features", "Some reports", "Somewhat", "Built in, ready to use", "Normal"]:
        await ann.press(label)
    for m in ann.messages():
        print("----", m.text[:300], m.labels if hasattr(m, "labels") else "")
    assert "Recommendation: Django" in "\n".join(m.text for m in ann.messages())
