"""views.*: modals and the Home tab."""

from __future__ import annotations

import time
from typing import Any

from bot.local_slack.base import ApiBase, SlackError
from bot.local_slack.checks import check_view


class ViewMethods(ApiBase):
    def _store_view(self, method: str, view: Any, view_id: str | None = None) -> dict[str, Any]:
        self._refuse(method, check_view(view), "invalid_arguments")
        view_id = view_id or f"V{next(self._view_ids):08d}"
        previous = self.views.get(view_id, {})
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": "A0MAPBOT",
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": None,
            "app_installed_team_id": self.team_id,
        }
        self.views[view_id] = stored
        return {"view": stored}

    def _view_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id") and not p.get("interactivity_pointer"):
            raise SlackError("invalid_arguments", errors=["trigger_id is required"])
        return self._store_view("views.open", p.get("view"))

    def _view_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id") or next(
            (i for i, v in self.views.items() if p.get("external_id") == v.get("external_id")),
            None,
        )
        if not view_id or view_id not in self.views:
            raise SlackError("not_found")
        return self._store_view("views.update", p.get("view"), str(view_id))

    def _view_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "user_id")
        user = str(p["user_id"])
        result = self._store_view("views.publish", p.get("view"), self._home.get(user))
        self._home[user] = result["view"]["id"]
        return result
