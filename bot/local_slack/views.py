"""views.*: modals and the Home tab."""

from __future__ import annotations

import time
from typing import Any

from bot.local_slack import triggers
from bot.local_slack.base import ApiBase, SlackError
from bot.local_slack.checks import check_view

PUSH_LIMIT = 3  # views.push: "After a modal is opened, the app is limited to pushing 2
# additional views" (https://docs.slack.dev/reference/methods/views.push), error
# push_limit_reached "the max push limit has been reached for views. Currently the limit is 3."


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
            "hash": f"{time.time_ns()}.{view_id}",
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": None,
            "app_installed_team_id": self.team_id,
        }
        self.views[view_id] = stored
        return {"view": stored}

    def _exchange(self, p: dict[str, Any]) -> str:
        """The user a trigger_id (or interactivity_pointer) was issued for, once."""
        pointer = str(p.get("trigger_id") or p.get("interactivity_pointer") or "")
        if not pointer:
            raise SlackError("invalid_arguments", errors=["trigger_id is required"])
        trigger = triggers.exchange(pointer)
        if isinstance(trigger, str):
            raise SlackError(trigger)
        return trigger.user

    def _view_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._exchange(p)
        result = self._store_view("views.open", p.get("view"))
        self._stacks[user] = [result["view"]["id"]]
        return result

    def _view_push(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._exchange(p)
        stack = self._stacks.setdefault(user, [])
        if len(stack) >= PUSH_LIMIT:
            raise SlackError("push_limit_reached")
        result = self._store_view("views.push", p.get("view"))
        stack.append(result["view"]["id"])
        return result

    def close_view(self, user: str, view_id: str, *, everything: bool = False) -> None:
        """Slack closed `view_id` for `user` (an answered view_submission, a view_closed):
        it leaves their stack with the views above it; `everything` ("clear") the lot."""
        with self._lock:
            stack = self._stacks.get(user, [])
            if everything:
                stack.clear()
            elif view_id in stack:
                del stack[stack.index(view_id) :]

    def _check_hash(self, p: dict[str, Any], view_id: str | None) -> None:
        """views.update / views.publish: "hash ... to protect against possible race
        conditions"; a stale one is hash_conflict
        (https://docs.slack.dev/reference/methods/views.update, errors)."""
        given = p.get("hash")
        current = self.views.get(view_id or "", {}).get("hash")
        if given and given != current:
            raise SlackError("hash_conflict")

    def _view_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id") or next(
            (i for i, v in self.views.items() if p.get("external_id") == v.get("external_id")),
            None,
        )
        if not view_id or view_id not in self.views:
            raise SlackError("not_found")
        self._check_hash(p, str(view_id))
        return self._store_view("views.update", p.get("view"), str(view_id))

    def _view_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "user_id")
        user = str(p["user_id"])
        if user not in self._users:
            raise SlackError("user_not_found")
        self._check_hash(p, self._home.get(user))
        result = self._store_view("views.publish", p.get("view"), self._home.get(user))
        self._home[user] = result["view"]["id"]
        return result
