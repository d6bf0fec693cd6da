"""The pipeline's "Download CSV" button (in `/map pipeline` and App Home). The
button's value is only a filter; who may have a pipeline, and what it lists, is
decided again on the server for the clicker (`storage.pipeline`). The request
is queued before the answer, the reply sent after (bot.change_first)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.change_first import change_then_answer
from bot.deps import Deps, channel_of
from storage import clock, services, uploads
from storage.pipeline import parse_spec
from storage.rules import Actor

INVALID = "That button is no longer valid."
QUEUED = ":inbox_tray: I'll send you the pipeline as a CSV file in a DM."


def register(app: App, deps: Deps) -> None:
    @app.action(ids.PIPELINE_CSV)
    def csv_download(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        ack()
        channel = channel_of(body)
        spec = parse_spec(str(action.get("value") or ""))

        def request(actor: Actor, _tz: str) -> None:
            if spec is None:
                raise services.NotFound(INVALID)
            with deps.db.write() as s:
                uploads.request_pipeline_csv(s, actor, spec[0], spec[1], clock.now())

        def tell(actor: Actor, said: str) -> None:
            if channel:
                client.chat_postEphemeral(channel=channel, user=actor.user_id, text=said)
            else:
                deps.home.refresh_user(actor.team_id, actor.user_id, said)
            deps.refresher.wake()  # the upload goes out with this process's refreshes

        change_then_answer(
            deps,
            context,
            client,
            body.get("user"),
            request,
            lambda actor, _none: tell(actor, QUEUED),
            lambda actor, e: tell(actor, f":no_entry: {e.message}"),
        )
