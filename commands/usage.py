"""Help text for `/map`: one short usage per verb (Slack mrkdwn), and the overview.

Written with `<placeholders>`; escaped once here, since Slack reads `<…>` as a link.
"""

from __future__ import annotations

from bot.text import escape

_USAGE = {
    "help": "`/map help [command]` — this overview, or how one command works. "
    "Example: `/map help add`",
    "create": "`/map create <title> [from <template>] [go-live <date>]` — start the action plan "
    "for this channel, laid out from a template (`/map template list`) with every date worked "
    "back from go-live.\n"
    "`/map create` alone opens the form, with a template picker.\n"
    "Example: `/map create Acme rollout from enterprise go-live Mar 1`",
    "status": "`/map status` — post the plan card again at the bottom of the channel.",
    "mine": "`/map mine` — your open tasks in this plan.",
    "milestone": "`/map milestone add <title> [due <date>]` — add a milestone.\n"
    "`/map milestone status <name> done|started|not started|auto` — set it by hand "
    "(`auto` follows its tasks again).\n"
    "Example: `/map milestone add Security review due Nov 30`",
    "add": "`/map add <task> [to <milestone>] [owner buyer|seller|mutual] [@person] "
    "[due <date>] [internal]` — add a task; `for buyer` and `to @person` work too. "
    "`/map add` alone opens the task form.\n"
    'Everything after ` to ` is the milestone: quote a title that has one, `"Send MSA to legal"`.\n'
    "Example: `/map add Send MSA to Contracting for buyer @jane due friday`",
    "assign": "`/map assign <task> @person` (or `nobody`) — who does it. "
    "Example: `/map assign #7 @jane`",
    "start": "`/map start <task>` — mark a task in progress. Example: `/map start #7`",
    "done": "`/map done <task>` (or `complete`, `finish`) — mark a task completed. "
    "Example: `/map done security questionnaire`",
    "reopen": "`/map reopen <task>` — back to not started. Example: `/map reopen #7`",
    "due": "`/map due <task> <date>` (or `none`) — set or clear a due date.\n"
    "Dates: `Dec 15`, `2026-12-15`, `12/15`, `friday` (the coming one; `next friday` too), "
    "`tomorrow`, `eow`, `in 2 weeks`, `+3d`, `+5bd` (business days).\n"
    "Example: `/map due #7 in 2 business days`",
    "golive": "`/map golive <date>` (or `none`; also `go-live`, `target`) — the target go-live "
    "date. Tasks due relative to it move with it (you see a preview first); dates set by hand "
    "stay put. Example: `/map golive Jan 15`",
    "template": "`/map template list` · `show <name>` · `save <name>` (this plan, dates made "
    "relative to go-live) · `delete <name>` · `export <name>` (YAML) · `import <name>` with the "
    "YAML pasted on the next lines.\nExample: `/map template save emea-enterprise`",
    "extend": "`/map extend <template>` — add a template's milestones to this plan, e.g. "
    "`/map extend onboarding` after signature.",
    "remind": "`/map remind` — this plan's reminder settings; `remind lead <days>`, "
    "`remind digest <day> <time>` (the weekly digest), `remind weekends on|off`, `remind off|on`.\n"
    "Example: `/map remind digest monday 9:00`",
    "mute": "`/map mute digests` — no daily digest DM for you (`/map unmute digests` undoes it).",
    "unmute": "`/map unmute digests` — your daily digest DM again.",
    "managers": "`/map managers [list]`, `/map managers add @someone`, `/map managers remove "
    "@someone` — who sees every plan of the workspace in the pipeline (seller team only; "
    "without managers, each of you sees your own plans). Example: `/map managers add @mercy`",
    "pipeline": "`/map pipeline [mine|at-risk|stalled|owner @someone] [csv]` — every deal you "
    "may see, riskiest first: milestone, progress, health, target, forecast, next buyer step, "
    "last movement; `csv` sends the whole list as a file by DM. Example: `/map pipeline at-risk`",
    "timeline": "`/map timeline` — the plan's timeline picture (milestones, target, today, "
    "forecast), posted in the channel.",
    "webhook": "`/map webhook add <https url> [internal]` — send this workspace's plan events "
    "there, signed (the secret is shown once; `internal` adds internal tasks and seller-only "
    "fields) · `webhook list` · `webhook remove <number>` · `webhook test [<number>]`. "
    "Seller team only.",
    "calendar": "`/map calendar` — the address of this plan's calendar feed (milestones, due "
    "dates, go-live; never an internal task) · `/map calendar reset` — a new address, the old "
    "one stops working.",
    "export": "`/map export csv|json` — this plan as a file, sent to you by DM (internal "
    "tasks only for the seller team; CSV cells that would run as formulas are quoted).",
    "crm": "`/map crm` — the CRM sync: `crm connect hubspot|salesforce <token>` (once per "
    "workspace), `crm link <deal id or URL>` (in the plan's channel), `crm unlink`, "
    "`crm fields [field=property …]` (where each field goes; `field=-` skips it), `crm push`, "
    "`crm disconnect`.\n"
    "Example: `/map crm link https://app.hubspot.com/contacts/123/deal/456`",
    "country": "`/map country <code>` (or `none`) — skip that country's public holidays in "
    "business-day dates. Example: `/map country DE`",
    "move": "`/map move <task> to <milestone>` — move a task. "
    "Example: `/map move #7 to Contracting`",
    "rename": "`/map rename <task> to <title>`, `/map rename milestone <name> to <title>`, "
    "`/map rename plan to <title>`.\nExample: `/map rename #7 to Send signed MSA`",
    "remove": "`/map remove <task>` (or `delete`), `/map remove milestone <name>` — asks first.\n"
    "Example: `/map remove #7`",
    "overview": "`/map overview` — edit the plan's why, goals, success criteria and go-live.",
    "people": "`/map people` — who is on the deal: role, side and contact details; "
    "put someone on a role or a side.",
    "draft": "`/map draft` — paste call notes or a transcript; you review the plan drafted "
    "from them (keep or drop each task, side, assignee, date) before anything is created. "
    "On a long message: the shortcut “Draft plan from this”.",
}

_USAGE |= {
    "summary": "`/map summary` — the plan at a glance, for you: health, forecast, completed "
    "this week, the next 14 days, who owns what, each milestone.\n"
    "`/map summary share` — post the version both teams see in the channel.",
    "health": "`/map health` — the plan's health with its reasons, the go-live forecast and "
    "the thresholds.\n"
    "`/map health [overdue <tasks>] [late <business days>] [stall <days>] [silence <days>]` — "
    "this plan's own thresholds (`default` puts one back).\n"
    "Example: `/map health stall 10 silence 21`",
}

USAGE: dict[str, str] = {verb: escape(text) for verb, text in _USAGE.items()}

_SUMMARY = {
    "create": "start a plan",
    "status": "show the plan card",
    "mine": "your open tasks",
    "milestone": "add a milestone, or set its status",
    "add": "add a task",
    "assign": "set who does a task",
    "start": "a task is in progress",
    "done": "a task is completed",
    "reopen": "a task is not started",
    "due": "set a due date",
    "golive": "set the go-live date",
    "move": "move a task to a milestone",
    "rename": "rename a task, milestone or the plan",
    "remove": "remove a task or milestone",
    "overview": "the plan's why, goals and success criteria",
    "people": "who is on the deal",
    "draft": "draft the plan from call notes",
    "template": "list, save, show, import and export templates",
    "extend": "add a template's milestones (after signature: onboarding)",
    "country": "public holidays to skip in dates",
    "remind": "reminder settings: lead time, weekly digest, weekends",
    "mute": "mute your daily digest",
    "unmute": "your daily digest again",
    "managers": "who sees every deal in the pipeline",
    "pipeline": "every deal at a glance, riskiest first",
    "timeline": "the plan's timeline picture",
    "webhook": "signed webhooks of plan events (seller team)",
    "calendar": "the plan's calendar feed",
    "crm": "sync this plan with its HubSpot deal or Salesforce opportunity",
    "export": "this plan as a CSV or JSON file, by DM",
    "summary": "the plan at a glance; `share` posts it in the channel",
    "health": "plan health, the go-live forecast, and the health thresholds",
}


def overview() -> str:
    """The `/map help` text: every verb in a line."""
    lines = [f"• `/map {verb}` — {what}" for verb, what in _SUMMARY.items()]
    tail = "A task is `#7` or words of its title. `/map help <command>` for details."
    return escape("\n".join(["*Mutual action plan commands*", *lines, tail]))


def usage_for(verb: str | None) -> str:
    """How `verb` works; the overview for None or an unknown verb."""
    if verb is None or verb not in USAGE:
        return overview()
    return USAGE[verb]
