"""Labels of signing in and of signed-in sessions: throttling, failed sign-ins, why a session ended, devices."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Sign-in throttling and failed sign-ins (crm.services.signin).
SIGN_IN_THROTTLE_SCOPES = {
    "account_address": _l("this username from this address"),
    "account": _l("this username from many addresses"),
    "address": _l("many usernames from this address"),
    "device": _l("this username from a browser it signed in on before"),
}
SIGN_IN_PLACES = {"login": _l("sign-in page"), "settings": _l("current password in Settings")}

# Signed-in sessions (crm.services.sessions): why a session ended, and device names with a local form.
SESSION_END_REASONS = {
    "sign-out": _l("signed out"),
    "idle": _l("not used for too long"),
    "expired": _l("time limit reached"),
    "token-reuse": _l("an old copy of its remember cookie was used (possible theft)"),
    "user": _l("ended by the user"),
    "admin": _l("ended by an administrator"),
    "operator": _l("ended on the server's command line"),
    "password-change": _l("password changed"),
    "password-reset": _l("password reset by an administrator"),
    "deactivated": _l("account deactivated"),
}
DEVICE_BROWSERS = {
    "": _l("Unknown device"),
    "wechat": _l("WeChat"), "wecom": _l("WeCom"), "dingtalk": _l("DingTalk"), "alipay": _l("Alipay"),
    "qq": _l("QQ Browser"), "uc": _l("UC Browser"), "quark": _l("Quark"), "huawei": _l("Huawei Browser"),
    "xiaomi": _l("Xiaomi Browser"), "edge": "Edge", "opera": "Opera", "firefox": "Firefox", "chrome": "Chrome",
    "safari": "Safari",
}

# The parts crm/labels/audit.py assembles.
ACTIONS = {
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.throttled": _l("Sign-in slowed down (too many failures)"),
    "auth.failures_notified": _l("User emailed about failed sign-ins"),
    "auth.sign_in": _l("Signed in"),
    "auth.sign_out": _l("Signed out"),
    "auth.session_ended": _l("Session ended"),
    "auth.sessions_ended": _l("Signed out everywhere"),
}
DETAILS = {
    "auth.sign_in_failed": _l("Username %(username)s (%(where)s)"),
    "auth.throttled": _l("%(username)s: next try in %(seconds)s s (%(scope)s)"),
    "auth.failures_notified": _l("%(username)s: %(failures)s failed sign-ins in an hour, from %(addresses)s"),
    "auth.sign_in": _l("%(device)s; kept signed in: %(remember)s"),
    "auth.sign_out": _l("%(device)s"),
    "auth.session_ended": _l("%(device)s: %(end_reason)s"),
    "auth.sessions_ended": _l("%(count)s sessions ended: %(end_reason)s"),
}
PARAM_MAPS = {"scope": "SIGN_IN_THROTTLE_SCOPES", "where": "SIGN_IN_PLACES", "end_reason": "SESSION_END_REASONS"}
