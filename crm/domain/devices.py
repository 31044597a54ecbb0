"""A short name for the device behind a User-Agent ("iPhone · WeChat"), for the list of signed-in sessions.

Only what a person recognises their own phone by: the kind of device and the app or browser. The
codes are translated by labels.DEVICE_BROWSERS where a name has a local form (微信, QQ浏览器).
"""
from __future__ import annotations

import re
from typing import NamedTuple


class Device(NamedTuple):
    """The platform and the browser (or app) codes read from a User-Agent; "" when unknown."""

    platform: str
    browser: str


# Checked in order: the first match wins (an in-app browser before the engine it embeds).
_PLATFORMS = (
    ("iPad", re.compile(r"iPad")),
    ("iPhone", re.compile(r"iPhone|iPod")),
    ("HarmonyOS", re.compile(r"HarmonyOS|OpenHarmony")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("Mac", re.compile(r"Macintosh|Mac OS X")),
    ("Linux", re.compile(r"Linux|X11|CrOS")),
)
_BROWSERS = (
    ("wechat", re.compile(r"MicroMessenger")),
    ("wecom", re.compile(r"wxwork")),
    ("dingtalk", re.compile(r"DingTalk", re.I)),
    ("alipay", re.compile(r"AlipayClient")),
    ("qq", re.compile(r"MQQBrowser|QQBrowser|\bQQ/")),
    ("uc", re.compile(r"UCBrowser|UCWEB")),
    ("quark", re.compile(r"Quark")),
    ("huawei", re.compile(r"HuaweiBrowser")),
    ("xiaomi", re.compile(r"MiuiBrowser|XiaoMi")),
    ("edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("opera", re.compile(r"OPR/|Opera")),
    ("firefox", re.compile(r"Firefox/|FxiOS/")),
    ("chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("safari", re.compile(r"Safari/")),
)


def read_device(user_agent: str | None) -> Device:
    """The platform and browser codes of a User-Agent string (empty strings for what is not recognised)."""
    text = user_agent or ""
    platform = next((name for name, pattern in _PLATFORMS if pattern.search(text)), "")
    browser = next((name for name, pattern in _BROWSERS if pattern.search(text)), "")
    if browser == "safari" and platform not in ("iPhone", "iPad", "Mac"):
        browser = ""  # every WebKit browser says Safari; only Apple's own is Safari
    return Device(platform, browser)
