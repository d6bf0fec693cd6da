"""A signed request from a workspace that has not installed the app (OAuth mode).

Bolt's own answer would be wrong twice: with a response_url it first POSTs its
message there (a call to Slack before the HTTP response) and otherwise answers
with a long apology. Before authorize runs, we look the workspace up in the
installation store (the database; no Slack call) and answer at once: a slash
command or an interaction gets HTTP 200 with a short text, shown to that person
alone; an event is acknowledged and ignored (Slack would retry anything else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

log = logging.getLogger(__name__)

NOT_INSTALLED = "MAP bot isn't installed in this workspace."
# Bolt lets these through without an installation (they say the app is gone).
_GOODBYES = ("app_uninstalled", "tokens_revoked", "team_access_revoked")

Middleware = Callable[[BoltRequest, BoltResponse, Callable[[], BoltResponse]], BoltResponse]


def only_installed(store: SQLAlchemyInstallationStore) -> Middleware:
    def check(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        body = req.body or {}
        team = req.context.team_id
        enterprise = req.context.enterprise_id
        if body.get("type") in ("url_verification", "ssl_check") or not (team or enterprise):
            return next()
        event = body.get("event") or {}
        if body.get("type") == "event_callback" and event.get("type") in _GOODBYES:
            return next()
        if store.find_bot(enterprise_id=enterprise, team_id=team) is not None:
            return next()
        log.info("a request from %s, which has not installed the app: refused", team)
        if body.get("type") == "event_callback":
            return BoltResponse(status=200, body="")  # acknowledged, nothing done
        return BoltResponse(status=200, body=NOT_INSTALLED)

    return check
