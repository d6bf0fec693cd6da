"""What a plan pushes to its CRM deal, and under which CRM property names.

Pure: the values come from the plan's read model (seller view: a CRM is the
seller's own system) plus its health and forecast lines, rendered as strings
because both CRMs take property values as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date

from reminders.crm.adapter import Vendor
from storage.readmodel import PlanView

FIELDS = ("progress", "milestone", "health", "forecast", "next_buyer_step", "plan_link")

# Properties to create in the CRM (README, "CRM sync"); any may be remapped with
# `/map crm fields <field>=<property>` or left out with `<field>=-`.
DEFAULTS: dict[Vendor, dict[str, str]] = {
    "hubspot": {
        "progress": "mapbot_progress",
        "milestone": "mapbot_milestone",
        "health": "mapbot_health",
        "forecast": "mapbot_forecast_golive",
        "next_buyer_step": "mapbot_next_buyer_step",
        "plan_link": "mapbot_plan_link",
    },
    "salesforce": {
        "progress": "MAP_Progress__c",
        "milestone": "MAP_Milestone__c",
        "health": "MAP_Health__c",
        "forecast": "MAP_Forecast_Go_Live__c",
        "next_buyer_step": "MAP_Next_Buyer_Step__c",
        "plan_link": "MAP_Plan_Link__c",
    },
}
OFF = "-"
# HubSpot internal names and Salesforce API names: letters, digits, underscores.
_PROPERTY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
MAX_TEXT = 255  # a single-line text property in either CRM


def mapping(vendor: Vendor, stored: str | None) -> dict[str, str]:
    """Our field → the CRM property, defaults overlaid with the workspace's own."""
    chosen = dict(DEFAULTS[vendor])
    try:
        own = json.loads(stored or "{}")
    except ValueError:
        own = {}
    if isinstance(own, dict):
        chosen.update({k: v for k, v in own.items() if k in FIELDS and isinstance(v, str)})
    return chosen


def parse_assignments(words: list[str]) -> dict[str, str]:
    """`progress=Deal_Progress__c health=-` → {field: property}; ValueError with a
    sentence for anything else."""
    out: dict[str, str] = {}
    for word in words:
        name, eq, prop = word.partition("=")
        if not eq or name not in FIELDS:
            raise ValueError(
                f"`{word[:40]}` isn't `field=property`; the fields are {', '.join(FIELDS)}."
            )
        if prop != OFF and not _PROPERTY.fullmatch(prop):
            raise ValueError(f"`{prop[:40]}` isn't a CRM property name (letters, digits, _).")
        out[name] = prop
    return out


def values(
    view: PlanView,
    today: date,
    *,
    health: str | None,
    forecast: date | None,
    link: str,
) -> dict[str, str]:
    """Our fields' values for this plan now."""
    tasks = view.tasks
    done = sum(1 for t in tasks if t.status == "completed")
    current = view.current_milestone
    buyer_open = sorted(
        (t for t in tasks if t.is_open and not t.internal and t.owner_side in ("buyer", "mutual")),
        key=lambda t: (t.due_date or date.max, t.number),
    )
    step = ""
    if buyer_open:
        first = buyer_open[0]
        due = f" (due {first.due_date.isoformat()})" if first.due_date else ""
        step = f"#{first.number} {first.title}{due}"
    return {
        "progress": str(round(100 * done / len(tasks))) if tasks else "0",
        "milestone": current.title if current is not None else "All milestones completed",
        "health": health or "",
        "forecast": forecast.isoformat() if forecast is not None else "",
        "next_buyer_step": step,
        "plan_link": link,
    }


def properties(chosen: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """The CRM properties to write: mapped, not switched off, cut to fit."""
    return {
        prop: ours[name][:MAX_TEXT] for name, prop in chosen.items() if prop != OFF and name in ours
    }
