"""A realistic plan to play with: LexCorp selling a project-management tool to
Monsters, Inc. Used by `mapbot shell --demo` and by tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from storage import services
from storage.db import Database
from storage.readmodel import active_plan
from storage.rules import Actor

SELLER_TEAM = "T0LEXCORP"
BUYER_TEAM = "T0MONSTERS"
DEAL_CHANNEL = "C0MONSTERS"


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str
    team_id: str
    tz: str
    title: str
    guest: bool = False


PEOPLE = (
    DemoPerson("U0LEX", "lex", SELLER_TEAM, "America/New_York", "Account Executive"),
    DemoPerson("U0MERCY", "mercy", SELLER_TEAM, "America/Chicago", "Solutions Engineer"),
    DemoPerson("U0OTIS", "otis", SELLER_TEAM, "Europe/London", "Deal Desk"),
    DemoPerson("W0SULLEY", "sulley", BUYER_TEAM, "America/Los_Angeles", "VP Operations"),
    DemoPerson("W0MIKE", "mike", BUYER_TEAM, "America/Los_Angeles", "IT Lead"),
    DemoPerson("W0ROZ", "roz", BUYER_TEAM, "America/Denver", "Procurement"),
    DemoPerson("W0CELIA", "celia", BUYER_TEAM, "America/Los_Angeles", "Legal Counsel"),
)

# (milestone, [(title, owner, assignee, days from today or None, internal, status)])
PLAN: list[tuple[str, list[tuple[str, str, str | None, int | None, bool, str]]]] = [
    (
        "Discovery",
        [
            (
                "Discovery call: goals and success criteria",
                "mutual",
                "U0LEX",
                -20,
                False,
                "completed",
            ),
            (
                "Share current project tracking pain points",
                "buyer",
                "W0SULLEY",
                -18,
                False,
                "completed",
            ),
            ("Qualify budget and timeline (MEDDICC)", "seller", "U0LEX", -17, True, "completed"),
        ],
    ),
    (
        "Security review",
        [
            (
                "Send SOC 2 report and security whitepaper",
                "seller",
                "U0MERCY",
                -6,
                False,
                "completed",
            ),
            ("Complete security questionnaire", "buyer", "W0MIKE", -1, False, "in_progress"),
            ("SSO / SCIM test in sandbox", "mutual", "W0MIKE", 3, False, "not_started"),
            (
                "Ask CISO for an exception on data residency",
                "seller",
                "U0MERCY",
                2,
                True,
                "not_started",
            ),
        ],
    ),
    (
        "Legal review",
        [
            ("Send MSA and DPA", "seller", "U0OTIS", 5, False, "not_started"),
            ("Redlines back to LexCorp", "buyer", "W0CELIA", 12, False, "not_started"),
            ("Approve non-standard liability cap", "seller", "U0OTIS", 14, True, "not_started"),
        ],
    ),
    (
        "Procurement",
        [
            ("Vendor onboarding form", "buyer", "W0ROZ", 16, False, "not_started"),
            ("Final order form", "seller", "U0LEX", 18, False, "not_started"),
            ("PO issued", "buyer", "W0ROZ", 21, False, "not_started"),
        ],
    ),
    (
        "Kickoff",
        [
            ("Kickoff meeting", "mutual", "U0LEX", 25, False, "not_started"),
            ("Name project owners on both sides", "mutual", None, 25, False, "not_started"),
        ],
    ),
    (
        "Go-live",
        [
            (
                "Workspace configured and teams invited",
                "seller",
                "U0MERCY",
                33,
                False,
                "not_started",
            ),
            ("First sprint planned in the new tool", "buyer", "W0SULLEY", 35, False, "not_started"),
        ],
    ),
]


def seed_demo(db: Database, today: date, channel_id: str = DEAL_CHANNEL) -> int:
    """Create the demo plan (once) and its people; returns the plan id."""
    seller = Actor("U0LEX", "seller", SELLER_TEAM)
    with db.write() as s:
        existing = active_plan(s, SELLER_TEAM, channel_id)
        if existing is not None:
            return existing.id
        for p in PEOPLE:
            services.upsert_person(
                s,
                SELLER_TEAM,
                p.user_id,
                home_team_id=p.team_id,
                name=p.name,
                tz=p.tz,
                is_guest=p.guest,
            )
        plan = services.create_plan(
            s,
            seller,
            channel_id,
            "LexCorp × Monsters, Inc. — Scare Floor project tracking",
            target_date=today + timedelta(days=35),
            tz="America/New_York",
        )
        for title, tasks in PLAN:
            milestone = services.add_milestone(s, seller, plan, title)
            for task_title, owner, assignee, days, internal, status in tasks:
                task = services.add_task(
                    s,
                    seller,
                    plan,
                    task_title,
                    milestone=milestone,
                    owner_side=owner,
                    assignee_id=assignee,
                    due=today + timedelta(days=days) if days is not None else None,
                    internal=internal,
                )
                if status != "not_started":
                    services.set_task_status(s, seller, plan, task, status)
        return plan.id
