"""Plan links: `link_shared` queues the message's unfurl (rendered and sent by the
outbox worker, `reminders.delivery.unfurl`), and the unfurl's Complete button, checked
like any click: the clicker must reach the plan (a buyer only while in its deal
channel), see the task (never an internal one for a buyer) and own its side.
Its change is saved before the answer, its refusal sent after (bot.change_first)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids, plan_links
from bot.change_first import change_then_answer
from bot.deps import Deps, host_team
from reminders.delivery.unfurl import MAX_LINKS, mark_unfurl
from storage import access, services
from storage.rules import Actor


def register(app: App, deps: Deps) -> None:
    public_url = deps.settings.public_url

    @app.event("link_shared")
    def link_shared(event: dict[str, Any], context: BoltContext) -> None:
        links = [
            str(link.get("url"))
            for link in event.get("links") or []
            if isinstance(link, dict) and isinstance(link.get("url"), str)
        ]
        ours = [u for u in links if plan_links.parse(u, public_url)][:MAX_LINKS]
        channel, ts = str(event.get("channel") or ""), str(event.get("message_ts") or "")
        unfurl_id, source = str(event.get("unfurl_id") or ""), str(event.get("source") or "")
        if not ours or not channel or not (ts or unfurl_id):
            return
        data = {
            "user": str(event.get("user") or ""),
            "channel": channel,
            "ts": ts,
            "unfurl_id": unfurl_id,
            "source": source,
            "links": ours,
            "bot": context.bot_user_id or "",  # a member of every channel it unfurls in
        }
        mark_unfurl(deps.db, host_team(context), channel, ts or unfurl_id, data)
        deps.refresher.wake()

    @app.action(ids.UNFURL_COMPLETE)
    def complete_from_unfurl(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        parsed = ids.parse_task_value(action.get("value"))
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        ts = str(container.get("message_ts") or "")

        # Before the answer (bot.change_first): the change, and the unfurl's own
        # refresh so it shows the change too; both outbox rows.
        def complete(actor: Actor, _tz: str) -> None:
            if parsed is None:
                raise services.NotFound(access.NOT_FOUND)
            with deps.db.write() as s:
                plan, task = access.plan_and_task(s, actor, parsed[0], parsed[1])
                services.set_task_status(s, actor, plan, task, "completed")
                plan_id, number = plan.id, task.number
            if channel and ts:
                data = {
                    "user": actor.user_id,
                    "channel": channel,
                    "ts": ts,
                    "links": [plan_links.link_for(public_url, plan_id, number)],
                    "bot": context.bot_user_id or "",
                }
                mark_unfurl(deps.db, actor.team_id, channel, ts, data)

        def refuse(_actor: Actor, e: services.DomainError) -> None:
            text = f":no_entry: {e.message}"
            respond(text=text, response_type="ephemeral", replace_original=False)

        change_then_answer(
            deps,
            context,
            client,
            body.get("user"),
            complete,
            lambda _actor, _none: deps.refresher.wake(),  # the change queued the refreshes
            refuse,
        )
