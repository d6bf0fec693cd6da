"""Links to a plan and to one of its tasks: `PUBLIC_URL/p/<plan>` and
`PUBLIC_URL/p/<plan>/t/<number>` (posted in Slack, they unfurl)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot import ids

_PATH = re.compile(r"/p/(?P<plan>[0-9]{1,10})(?:/t/(?P<number>[0-9]{1,9}))?/?")


@dataclass(frozen=True)
class PlanLink:
    plan_id: int
    number: int | None  # a task's #number, or None for the plan itself


def link_for(public_url: str, plan_id: int, number: int | None = None) -> str:
    """The link, or "" when PUBLIC_URL is not set."""
    base = public_url.rstrip("/")
    if not base:
        return ""
    return f"{base}/p/{plan_id}" + (f"/t/{number}" if number is not None else "")


def parse_path(path: str) -> PlanLink | None:
    m = _PATH.fullmatch(path)
    if m is None:
        return None
    plan_id = ids.parse_int(m["plan"])
    number = ids.parse_int(m["number"]) if m["number"] else None
    if plan_id is None or (m["number"] and number is None):
        return None
    return PlanLink(plan_id, number)


def parse(url: str, public_url: str) -> PlanLink | None:
    """A link of ours: same scheme, host and port as PUBLIC_URL, then /p/…"""
    if not public_url:
        return None
    ours, theirs = urlsplit(public_url), urlsplit(url)
    if (theirs.scheme, theirs.netloc.lower()) != (ours.scheme, ours.netloc.lower()):
        return None
    prefix = ours.path.rstrip("/")
    if not theirs.path.startswith(prefix + "/p/"):
        return None
    return parse_path(theirs.path[len(prefix) :])
