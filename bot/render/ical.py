"""A plan's dates as an iCalendar feed (`icalendar`): milestones, tasks with due
dates and go-live, as all-day events. Rendered from a buyer's view of the plan
(storage.readmodel), so an internal task is never in it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

from storage.readmodel import PlanView

PRODID = "-//MAP bot//Mutual Action Plan//EN"


def _event(uid: str, summary: str, day: date, stamp: datetime, description: str = "") -> Event:
    e = Event()
    e.add("uid", uid)
    e.add("dtstamp", stamp)
    e.add("dtstart", day)
    e.add("dtend", day + timedelta(days=1))
    e.add("summary", summary)
    e.add("transp", "TRANSPARENT")  # a deadline, not a meeting: shows the day as free
    if description:
        e.add("description", description)
    return e


def render_feed(view: PlanView, host: str, stamp: datetime) -> bytes:
    assert view.side == "buyer", "the feed is shared with buyers: render it from a buyer view"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{view.title} — action plan")
    cal.add("x-wr-timezone", view.tz)
    if view.target_date is not None:
        cal.add_component(
            _event(
                f"plan-{view.id}-golive@{host}", f"Go-live: {view.title}", view.target_date, stamp
            )
        )
    for m in view.milestones:
        if m.due_date is not None:
            cal.add_component(
                _event(f"milestone-{m.id}@{host}", f"Milestone: {m.title}", m.due_date, stamp)
            )
        for t in m.tasks:
            if t.due_date is None:
                continue
            done = " (done)" if t.status == "completed" else ""
            cal.add_component(
                _event(
                    f"task-{t.id}@{host}",
                    f"#{t.number} {t.title}{done}",
                    t.due_date,
                    stamp,
                    f"{m.title} · owner: {t.owner_side}",
                )
            )
    return bytes(cal.to_ical())
