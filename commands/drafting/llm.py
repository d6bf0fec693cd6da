"""The optional LLM extractor: an OpenAI-compatible chat-completions endpoint
(MAPBOT_LLM_URL, MAPBOT_LLM_MODEL, MAPBOT_LLM_KEY). Never required: `propose`
falls back to the default extractor, saying why, when it is not configured, does
not answer in time, or answers anything `validate.from_data` refuses. Called only
after the request was acknowledged (from the outbox worker), never within it."""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from commands.drafting import validate
from commands.drafting.extract import extract
from commands.drafting.model import NOTES_MAX, DraftContext, Proposal

log = logging.getLogger(__name__)

ANSWER_MAX = 1_000_000  # bytes read of an answer; a proposal is a few KB
TIMEOUT = 20.0  # seconds; the rep is looking at a "drafting…" modal meanwhile
_LOOPBACK_NAMES = {"localhost"}

SYSTEM_PROMPT = """You turn sales call notes into a mutual action plan.
Answer with one JSON object and nothing else:
{"title": "<short plan title>", "golive": "YYYY-MM-DD" or null, "notes": [],
 "tasks": [{"title": "<imperative next step>", "milestone": "<deal phase>",
            "side": "buyer" | "seller" | "mutual", "assignee": "<user id>" or null,
            "due": "YYYY-MM-DD" or null}]}
Only steps someone committed to. Relative dates count from the call date.
"seller" is the team of the person who wrote the notes; "buyer" the customer.
Assignees only from the people listed, by their id."""


class LlmFailed(Exception):
    """The endpoint could not give a usable proposal; `str(e)` says why (no secret)."""


def check_url(url: str) -> str:
    """The endpoint, refused unless https (plain http only to this machine) and
    without credentials in it; `/chat/completions` is added to a base URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("credentials belong in MAPBOT_LLM_KEY, not in the URL")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError("plain http only to this machine (127.0.0.1, ::1, localhost)")
    if parts.query or parts.fragment:
        raise ValueError("no query or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Post = Callable[[str, bytes, dict[str, str], float], bytes]


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked by check_url
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return bytes(answer.read(ANSWER_MAX + 1))


@dataclass(frozen=True)
class LlmExtractor:
    url: str  # as check_url returns it
    model: str
    key: str = field(repr=False)
    timeout: float = TIMEOUT
    post: Post = field(default=_post, repr=False, compare=False)

    def __call__(self, text: str, ctx: DraftContext) -> Proposal:
        """A proposal from the endpoint, validated; raises LlmFailed."""
        people = "\n".join(f"- {p.name} (id {p.user_id}, {p.side})" for p in ctx.people)
        user = (
            f"Call date: {ctx.call_date.isoformat()}\n"
            f"Dates are written {'day' if ctx.day_first else 'month'} first.\n"
            f"People:\n{people or '- (none known)'}\n\nNotes:\n{text[:NOTES_MAX]}"
        )
        body = json.dumps(
            {
                "model": self.model,
                "temperature": 0,
                "response_format": {"type": "json_object"},
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": user},
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        try:
            raw = self.post(self.url, body, headers, self.timeout)
        except urllib.error.HTTPError as e:
            raise LlmFailed(f"the endpoint answered HTTP {e.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise LlmFailed(f"the endpoint did not answer ({type(e).__name__})") from None
        if len(raw) > ANSWER_MAX:
            raise LlmFailed("the answer is too long")
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError
            data = json.loads(_unfenced(content))
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmFailed("the answer is not a chat completion holding JSON") from None
        try:
            return validate.from_data(data, ctx.call_date, {p.user_id for p in ctx.people})
        except validate.Malformed as e:
            raise LlmFailed(f"the answer is not a plan: {e}") from None


def _unfenced(content: str) -> str:
    """A model may wrap its JSON in a ```json fence."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[-1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def propose(text: str, ctx: DraftContext, llm: LlmExtractor | None) -> Proposal:
    """The LLM's proposal when one is configured and usable, else the default one."""
    if llm is None:
        return extract(text, ctx)
    try:
        return llm(text, ctx)
    except LlmFailed as e:
        log.warning("LLM draft not used: %s", e)
        fallback = extract(text, ctx)
        note = f"The language model's answer could not be used ({e}); this is the built-in draft."
        return Proposal(fallback.title, fallback.golive, fallback.tasks, (note, *fallback.notes))
