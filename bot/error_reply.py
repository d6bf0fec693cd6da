"""The answer to a request whose listener failed: the traceback goes to the log,
the person gets a polite word, Slack never sees a 500 (it would show "failed" or,
for an event, retry something that already half ran)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App, BoltResponse

from storage.db import Replayed

log = logging.getLogger(__name__)

SORRY = ":warning: Sorry, something went wrong on our side and nothing was changed. Try again?"


def polite_answer(body: Mapping[str, Any]) -> str:
    """The body of a 200 answer to the request `body`: an ephemeral text for a slash
    command, the error on the modal's first input for a submission (so the modal
    stays open with what was typed), and nothing for the rest. (JSON, or empty.)"""
    if isinstance(body.get("command"), str):
        return json.dumps({"response_type": "ephemeral", "text": SORRY})
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, Mapping):
        values = (view.get("state") or {}).get("values")
        if isinstance(values, Mapping) and values:
            first = next(iter(values))
            return json.dumps({"response_action": "errors", "errors": {first: SORRY}})
    return ""


def log_failure(error: Exception, body: Mapping[str, Any]) -> None:
    """One line naming the request and the error, with its traceback."""
    what = body.get("type") or body.get("command")
    log.error("request failed (%s %s)", what, type(error).__name__, exc_info=error)


def handle_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """Bolt's global error handler (listeners and middleware)."""
    if isinstance(error, Replayed):  # not a failure: bot.request_guard answers 409
        return BoltResponse(status=409, body="replayed request")
    log_failure(error, body)
    # Bolt labels a body that starts with "{" as JSON.
    return BoltResponse(status=200, body=polite_answer(body))


def register(app: App) -> None:
    app.error(handle_error)
