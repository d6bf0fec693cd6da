"""Putting user text back into Slack safely."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape Slack's control characters so `<!channel>` pings nobody and a
    title cannot smuggle a link (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def link_text(url: str, label: str) -> str:
    """A link we stored (checked to have no `<`, `>`, `|` or spaces), its label escaped."""
    return f"<{url}|{escape(label)}>" if label else f"<{url}>"
