"""The consent texts visitors agree to on the QR self-registration form (扫码登记), versioned.

A text once shown is never edited: a change is a new version (added here, `CURRENT` moved to it), so the
version stored on each registration says exactly which words the visitor agreed to. The texts are kept
here rather than in the translation catalog for the same reason: a catalog update must not change what a
recorded version said. Each version has its Chinese and English wording.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsentText:
    """One version of the consent, in one language: its heading and paragraphs."""

    version: str
    heading: str
    paragraphs: tuple[str, ...]


TEXTS: dict[str, dict[str, ConsentText]] = {
    "qr-2026-12": {
        "zh_CN": ConsentText("qr-2026-12", "个人信息使用说明", (
            "用途：我们只用您留下的姓名和手机号，就您询问的服务与您联系。",
            "保存期限：您成为我们的客户期间一直保存；如未开户，保存1年后删除。",
            "撤回：您可随时告诉您的客户经理，或回复我们的短信、电话，撤回同意，我们将不再联系您。",
            "本表不收集身份证号、银行账户、收入等敏感信息。",
        )),
        "en": ConsentText("qr-2026-12", "How we use your details", (
            "Purpose: we use the name and mobile number you leave only to contact you about the services "
            "you asked for.",
            "Retention: kept as long as you are our client; without an account, deleted after 1 year.",
            "Withdrawal: tell your client manager, or reply to our message or call, at any time and we will "
            "not contact you again.",
            "This form collects no sensitive data (no ID number, bank account or income).",
        )),
    },
}

CURRENT = "qr-2026-12"


def consent_text(locale: str, version: str = CURRENT) -> ConsentText:
    """The words of `version` in the visitor's language (Chinese for any language but English)."""
    texts = TEXTS[version]
    return texts["en"] if str(locale).startswith("en") else texts["zh_CN"]
