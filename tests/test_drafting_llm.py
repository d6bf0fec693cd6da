"""The optional LLM extractor, against a loopback OpenAI-compatible fake: the
modal says "drafting…" at once and is updated when the answer is in; the model is
asked only after the request was answered; a malformed answer, an error or a
timeout falls back to the built-in draft, saying so; the endpoint is checked."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.config import ConfigError, Settings
from commands.drafting.llm import check_url
from storage.db import Database
from storage.models import Task
from tests.harness import Harness, running_app
from tests.test_drafting_flow import (
    CALL,
    NOTES,
    SELLER,
    open_notes,
    review_state,
    review_tasks,
    shortcut,
)
from tests.test_modals import check_view, ok, state_of, submit

GOOD = {
    "title": "Monsters rollout",
    "golive": "2027-02-01",
    "notes": [],
    "tasks": [
        {
            "title": "Run the security workshop",
            "milestone": "Security review",
            "side": "mutual",
            "assignee": "W0MIKE",
            "due": "2026-11-20",
        },
        {
            "title": "Send the <!channel> pricing",
            "milestone": "Procurement",
            "side": "seller",
            "assignee": "U0NOBODY",  # not someone on the call: assigned to nobody
            "due": None,
        },
    ],
}


@dataclass
class FakeLlm:
    """An OpenAI-compatible chat-completions endpoint on loopback."""

    answer: Any = field(default_factory=lambda: GOOD)  # content: dict → JSON, str as is
    status: int = 200
    delay: float = 0.0
    hold: threading.Event | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def body(self) -> bytes:
        content = self.answer if isinstance(self.answer, str) else json.dumps(self.answer)
        return json.dumps(
            {"id": "chatcmpl-1", "object": "chat.completion",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                          "finish_reason": "stop"}]}
        ).encode()  # fmt: skip


@contextmanager
def fake_llm(fake: FakeLlm) -> Iterator[FakeLlm]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0"))
            fake.requests.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            if fake.hold is not None:
                fake.hold.wait(10)
            time.sleep(fake.delay)
            body = fake.body()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (the timeout test)
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.port = int(server.server_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield fake
    finally:
        if fake.hold is not None:
            fake.hold.set()
        server.shutdown()
        server.server_close()


@contextmanager
def app_with(db: Database, fake: FakeLlm) -> Iterator[Harness]:
    with fake_llm(fake):
        settings = {
            "llm_url": check_url(f"http://127.0.0.1:{fake.port}/v1"),
            "llm_model": "test-model",
            "llm_key": "sk-test-key",
            "llm_timeout": 0.5,
        }
        with running_app(db, settings=settings) as h:
            yield h
            assert h.local.violations == []


def submit_notes(h: Harness) -> dict[str, Any]:
    """Paste the notes; the "drafting…" modal they turn into at once."""
    view = open_notes(h)
    values = state_of(view, **{ids.F_DRAFT_NOTES: NOTES, ids.F_DRAFT_CALL_DATE: CALL.isoformat()})
    resp = submit(h, view, values, SELLER)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["response_action"] == "update"
    assert body["view"]["callback_id"] == ids.VIEW_DRAFT_WORKING
    return {**body["view"], "id": view["id"]}


def filled(h: Harness, view_id: str) -> dict[str, Any]:
    """The modal once the worker has updated it."""
    h.settle()
    updates = [c for c in h.local.calls_to("views.update") if c.params.get("view_id") == view_id]
    assert updates and updates[-1].ok, "the drafting modal was never updated"
    view = dict(h.local.views[view_id])
    assert view["callback_id"] == ids.VIEW_DRAFT_REVIEW
    check_view(view)
    return view


def test_the_models_draft_is_reviewed_then_created(db: Database) -> None:
    fake = FakeLlm()
    with app_with(db, fake) as h:
        working = submit_notes(h)
        review = filled(h, working["id"])
        lines = [line for _, line in review_tasks(review)]
        assert len(lines) == 2 and "Run the security workshop" in lines[0]
        assert "&lt;!channel&gt;" in lines[1]  # the model's text is escaped like anyone's
        users = [
            e.get("initial_user")
            for b in review["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert "W0MIKE" in users and "U0NOBODY" not in users
        (request,) = fake.requests
        assert request["path"] == "/v1/chat/completions"
        assert request["auth"] == "Bearer sk-test-key"
        assert request["json"]["model"] == "test-model"
        assert "Lex to send the recap deck" in request["json"]["messages"][1]["content"]
        ok(submit(h, review, review_state(review, title="From the model"), SELLER))
        with db.read() as s:
            got = {t.title: (t.owner_side, t.assignee_id) for t in s.scalars(select(Task))}
        assert got == {
            "Run the security workshop": ("mutual", "W0MIKE"),
            "Send the <!channel> pricing": ("seller", None),
        }


def test_the_model_is_asked_only_after_the_request_was_answered(db: Database) -> None:
    hold = threading.Event()
    fake = FakeLlm(hold=hold)
    with app_with(db, fake) as h:
        started = time.monotonic()
        working = submit_notes(h)  # answered while the model is still held
        assert time.monotonic() - started < 5
        hold.set()
        review = filled(h, working["id"])
        assert len(review_tasks(review)) == 2


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("Sure! Here is your plan: step one…", 200),  # not JSON
        ({"tasks": "all of them"}, 200),  # not a list
        ({"tasks": [{"title": "Do it", "milestone": "X", "side": "boss"}]}, 200),
        ({"tasks": [{"title": "", "milestone": "X", "side": "buyer"}]}, 200),
        ({"tasks": [{"title": "Do it", "side": "buyer", "due": "next week"}]}, 200),
        ({"tasks": [{"title": "Do it", "side": "buyer", "due": "2999-01-01"}]}, 200),
        ({"tasks": [{"title": "x", "side": "buyer"}] * 101}, 200),
        (GOOD, 500),
        (GOOD, 401),
    ],
    ids=[
        "prose",
        "tasks-not-list",
        "bad-side",
        "empty-title",
        "word-date",
        "far-date",
        "too-many",
        "http-500",
        "http-401",
    ],  # fmt: skip
)
def test_a_malformed_answer_falls_back_to_the_built_in_draft(
    db: Database, answer: Any, status: int
) -> None:
    with app_with(db, FakeLlm(answer=answer, status=status)) as h:
        working = submit_notes(h)
        review = filled(h, working["id"])
        text = json.dumps(review["blocks"])
        assert "could not be used" in text
        assert "sk-test-key" not in text
        assert len(review_tasks(review)) == 4  # the built-in extractor's four steps


def test_a_model_that_does_not_answer_in_time_falls_back(db: Database) -> None:
    with app_with(db, FakeLlm(delay=3.0)) as h:
        working = submit_notes(h)
        review = filled(h, working["id"])
        assert "did not answer" in json.dumps(review["blocks"])
        assert len(review_tasks(review)) == 4


def test_the_shortcut_opens_drafting_at_once_and_updates_it(db: Database) -> None:
    with app_with(db, FakeLlm()) as h:
        assert shortcut(h, SELLER, "- we will send the deck by Friday").status == 200
        (opened,) = h.local.calls_to("views.open")
        assert opened.result["view"]["callback_id"] == ids.VIEW_DRAFT_WORKING
        review = filled(h, opened.result["view"]["id"])
        assert len(review_tasks(review)) == 2


# --- the endpoint's configuration -------------------------------------------------


def test_the_endpoint_is_checked_and_the_key_never_shown() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "MAPBOT_LLM_MODEL": "m", "MAPBOT_LLM_KEY": "sk-secret"}
    good = Settings.from_env({**base, "MAPBOT_LLM_URL": "https://llm.example.com/v1"})
    assert good.llm_url == "https://llm.example.com/v1/chat/completions"
    assert "sk-secret" not in repr(good) and "sk-secret" not in repr(good.llm())
    for url in (
        "http://llm.example.com/v1",  # plain http off this machine
        "https://user:pw@llm.example.com/v1",  # a secret in the URL
        "ftp://llm.example.com/",
        "https://llm.example.com/v1?key=1",
        "llm.example.com",
    ):
        with pytest.raises(ConfigError, match="MAPBOT_LLM_URL"):
            Settings.from_env({**base, "MAPBOT_LLM_URL": url})
    assert Settings.from_env({**base, "MAPBOT_LLM_URL": "http://127.0.0.1:8080"}).llm() is not None
    with pytest.raises(ConfigError, match="MAPBOT_LLM_MODEL"):
        Settings.from_env({"MAPBOT_LLM_URL": "https://llm.example.com/v1"})
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).llm() is None  # never required
