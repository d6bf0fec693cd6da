"""Putting user text back into Slack safely.

The one escape boundary: every piece of user text that lands in mrkdwn (section
and context texts, a message's `text`, refusals) goes through `escape`, either
directly or as a part of `mrkdwn(...)`. `plain_text` objects (headers, buttons,
options, modal titles) and view errors are not parsed by Slack: they take the
text as it is, and `unescape` turns one of our mrkdwn strings back into it.
Text coming in is cleaned of NUL, lone surrogates and control characters
(`clean_text`; every Slack request through `bot.clean_input`).
"""

from __future__ import annotations

import re

VIEW_ERROR_MAX = 150  # what we allow an error under a modal field
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


# C0 controls but \t (0x09) and \n (0x0a); every surrogate code point (a str holds
# a pair that JSON spelled as two escapes as one character, so any left is alone).
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without NUL, lone surrogates or control characters other than \\n and \\t:
    PostgreSQL refuses NUL, a lone surrogate cannot be encoded as UTF-8, and neither
    means anything to a person. `bot.clean_input` applies it to every request; call it
    for text that enters another way (e.g. an imported template file)."""
    return _UNWANTED.sub("", text)


def escape(text: str) -> str:
    """Escape Slack's control characters so `<!channel>` pings nobody and a
    title cannot smuggle a link (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    for char, entity in _ESCAPES:  # `&` first, so an entity we write is not escaped again
        text = text.replace(char, entity)
    return text


def unescape(mrkdwn_text: str) -> str:
    """The text a mrkdwn string shows, for a plain_text field or a view error."""
    for char, entity in reversed(_ESCAPES):  # `&amp;` last: `&amp;lt;` stays `&lt;`
        mrkdwn_text = mrkdwn_text.replace(entity, char)
    return mrkdwn_text


def view_error(mrkdwn_text: str) -> str:
    """A refusal (mrkdwn) as a view submission error, which Slack shows as plain text."""
    return truncate(unescape(mrkdwn_text), VIEW_ERROR_MAX)


def mrkdwn(template: str, **parts: object) -> str:
    """Our own mrkdwn `template` with user text in `{name}` placeholders, each escaped:
    `mrkdwn("No task matches “{words}”.", words=typed)`. The template itself is
    written by us and may hold formatting and `<@U…>` mentions."""
    return template.format_map({name: escape(str(value)) for name, value in parts.items()})


def truncate(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def truncate_mrkdwn(text: str, limit: int) -> str:
    """`truncate` for mrkdwn: the cut never splits an entity (`&l…`) or one of our
    `<…>` tokens (a mention or a link), which would show as garbage or a broken link."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    lt = head.rfind("<")
    if lt != -1 and ">" not in head[lt:]:
        head = head[:lt]
    return head.rstrip() + "…"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def link_text(url: str, label: str) -> str:
    """A link we stored (checked to have no `<`, `>`, `|` or spaces), its label escaped."""
    return f"<{url}|{escape(label)}>" if label else f"<{url}>"
