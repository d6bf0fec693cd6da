"""The App Home tab: published when a person opens it (and after changes, by
`reminders.delivery.home`), off the request so the event is acknowledged at once."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import Deps, host_team


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab
        deps.home.refresh_user(host_team(context), event.get("user") or "")
