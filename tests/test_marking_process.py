"""An HTTP process of `mapbot serve --workers N` only marks: a click's change
queues its card's refresh in the outbox, and this process sends nothing and runs
no delivery pass (the delivery process polls the outbox and sends it). Were every
HTTP process to run a delivery pass on each click, they would spend their core
claiming rows the delivery process sends anyway."""

from __future__ import annotations

import threading
import time

from slack_sdk import WebClient
from sqlalchemy import select

from bot import ids
from bot.app import build
from bot.config import Settings
from bot.local_slack import LocalSlack
from bot.server import wsgi_app
from reminders.delivery import refreshes
from reminders.delivery.refresh_worker import POLL, RefreshWorker
from storage import services
from storage.db import Database
from storage.models import Outbox
from storage.rules import Actor
from tests.harness import CHANNEL, SECRET, SELLER_TEAM, TOKEN, Harness, serve_wsgi

LEX = Actor("U0LEX", "seller", SELLER_TEAM)


def _card_rows(db: Database) -> list[Outbox]:
    with db.read() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)))


def test_an_http_process_marks_the_card_and_the_delivery_process_sends_it(db: Database) -> None:
    with LocalSlack(team_id=SELLER_TEAM, tokens={TOKEN}) as local:
        local.add_user(LEX.user_id, team_id=SELLER_TEAM, name="lex")
        local.add_channel(CHANNEL, "monsters-deal", members=[LEX.user_id])
        client = WebClient(token=TOKEN, base_url=local.base_url)
        posted = client.chat_postMessage(channel=CHANNEL, text="the card")
        with db.write() as s:
            plan = services.create_plan(s, LEX, CHANNEL, "Rollout")
            task = services.add_task(s, LEX, plan, "Send the DPA", owner_side="seller")
            services.set_card(s, plan, CHANNEL, str(posted["ts"]))
            value = ids.task_value(plan.id, task.id)
        settings = Settings(
            bot_token=TOKEN,
            signing_secret=SECRET,
            slack_api_url=local.base_url,
            database_url=db.url,
            card_update_interval=0.0,
        )
        bot = build(settings, db, upgrade=False, deliver=False, verify_token=False)
        try:
            with serve_wsgi(wsgi_app(bot.app, db)) as port:
                h = Harness(local, bot, port)
                answer = h.click(ids.TASK_COMPLETE, value, user=LEX.user_id, user_team=SELLER_TEAM)
                assert answer.status == 200
            time.sleep(2 * POLL)  # a delivery pass here would have sent it by now
            mine = f"{id(bot.deps.refresher):x}"
            running = [t.name for t in threading.enumerate() if t.name.endswith(mine)]
            assert running == [], "an HTTP process ran a delivery pass"
            assert local.calls_to("chat.update") == []
            [row] = _card_rows(db)
            assert row.state == "pending", "the click marked its card"

            # The delivery process (the supervisor, or `mapbot worker`) sends it.
            delivery = RefreshWorker(db, lambda _team: client, interval=0.0)
            try:
                assert delivery.flush(10)
            finally:
                delivery.stop()
            assert len(local.calls_to("chat.update")) == 1
            assert [r.state for r in _card_rows(db)] == ["sent"]
            assert bot.deps.settle(5), "settling waits for the delivery process, and ends"
        finally:
            bot.deps.stop()
