"""Cleaning text at the edge: no NUL, lone surrogate or other control character
gets past the request into a listener, the database or a message back to Slack.

A JSON payload may carry `\\u0000` or half of a surrogate pair (`\\ud800`):
PostgreSQL refuses NUL in text, a lone surrogate cannot be encoded as UTF-8, and
neither means anything to a person. Newlines and tabs are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.text import clean_text


def clean_payload(value: Any) -> Any:
    """Every string in a parsed payload cleaned, keys included; other values as they are."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {
            clean_text(k) if isinstance(k, str) else k: clean_payload(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [clean_payload(v) for v in value]
    return value


def middleware(req: BoltRequest, resp: BoltResponse, next: Callable[[], None]) -> None:  # noqa: A002
    """Bolt global middleware (`app.use`): runs after the signature was checked on
    the raw body and before any listener reads the parsed one. The ids Bolt copied
    into the context are cleaned the same way."""
    req.body = clean_payload(req.body)
    for key, value in list(req.context.items()):
        if isinstance(value, str):
            req.context[key] = clean_text(value)
    next()
