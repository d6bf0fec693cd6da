"""Which bot scope each Web API method needs (each method's reference page on
docs.slack.dev, "Required scopes"); conversations.* need the one for the kind of
conversation: public channel, private channel or DM."""

from __future__ import annotations

from typing import Any

CHAT_WRITE = "chat:write"
FIXED: dict[str, str] = {
    "chat.postMessage": CHAT_WRITE,
    "chat.update": CHAT_WRITE,
    "chat.delete": CHAT_WRITE,
    "chat.postEphemeral": CHAT_WRITE,
    "users.info": "users:read",
    "conversations.open": "im:write",
}
# method → the scope's suffix; the prefix is the conversation's kind
BY_KIND = {
    "conversations.info": "read",
    "conversations.members": "read",
    "conversations.history": "history",
    "conversations.replies": "history",
}


def needed_scope(method: str, channel: str, channels: dict[str, dict[str, Any]]) -> str | None:
    """The scope `method` needs on `channel`, or None (auth.test, views.*, getPermalink)."""
    if method in FIXED:
        return FIXED[method]
    suffix = BY_KIND.get(method)
    if suffix is None:
        return None
    if channel.startswith("D"):
        kind = "im"
    elif channels.get(channel, {}).get("private"):
        kind = "groups"
    else:
        kind = "channels"
    return f"{kind}:{suffix}"
