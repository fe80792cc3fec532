"""The settings of the lead hand-off: the CRM hook, its secret, and when admins are alerted."""

from __future__ import annotations

import pytest

from settings import SettingsError, load_settings

TOKEN = "123456:ABCdef_ghi-jkl"
SECRET = "0123456789abcdef0123"
HOOK = {
    "LEAD_WEBHOOK_URL": "https://hooks.zapier.com/hooks/catch/1/abc/",
    "LEAD_WEBHOOK_SECRET": SECRET,
}


def test_without_a_crm_hook_leads_go_only_to_the_sales_chat_and_admins_hear_after_15_minutes() -> (
    None
):
    settings = load_settings({"BOT_TOKEN": TOKEN})
    assert (settings.lead_webhook_url, settings.lead_webhook_secret) == (None, None)
    assert settings.lead_alert_minutes == 15


def test_a_crm_hook_with_its_secret_and_an_alert_threshold_are_read() -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN, **HOOK, "LEAD_ALERT_MINUTES": "60"})
    assert settings.lead_webhook_url == HOOK["LEAD_WEBHOOK_URL"]
    assert settings.lead_webhook_secret == SECRET
    assert settings.lead_alert_minutes == 60
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/leads",
        "http://localhost/leads",
        "http://[::1]:9000/x?token=1",
        "https://crm.example.com/in?key=abc&x=1",
    ],
)
def test_a_crm_hook_may_be_plain_http_only_on_this_machine(url: str) -> None:
    settings = load_settings({"BOT_TOKEN": TOKEN, **HOOK, "LEAD_WEBHOOK_URL": url})
    assert settings.lead_webhook_url == url


URL, KEY = "LEAD_WEBHOOK_URL", "LEAD_WEBHOOK_SECRET"
BAD = [
    ({**HOOK, URL: "http://crm.example.com/in"}, rf"^{URL}: must be an https URL"),
    ({**HOOK, URL: "ftp://crm.example.com/in"}, rf"^{URL}: must be an http\(s\) URL"),
    ({**HOOK, URL: "https://crm.example.com/#x"}, rf"^{URL}: must not have a #fragment"),
    ({**HOOK, URL: "https://crm example.com/"}, rf"^{URL}: must not contain spaces"),
    ({URL: HOOK[URL]}, rf"^{KEY}: is required with {URL}"),
    ({KEY: SECRET}, rf"^{KEY}: needs {URL}"),
    ({**HOOK, KEY: "short"}, rf"^{KEY}: must be 16-256 characters"),
    ({**HOOK, KEY: "sixteen chars with spaces"}, rf"^{KEY}: must be 16-256"),
    ({"LEAD_ALERT_MINUTES": "0"}, r"^LEAD_ALERT_MINUTES: must be between 1 and 10080, not 0"),
    ({"LEAD_ALERT_MINUTES": "soon"}, r"^LEAD_ALERT_MINUTES: must be a whole number"),
]


@pytest.mark.parametrize(("environ", "message"), BAD)
def test_a_bad_lead_setting_is_refused_with_one_line_naming_it(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"BOT_TOKEN": TOKEN, **environ})
    assert "\n" not in str(caught.value)
    assert SECRET not in str(caught.value)
