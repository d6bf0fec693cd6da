"""`/map crm …`: connect the workspace's CRM, link this plan to a deal, choose
the fields. Nothing here calls the CRM: a link is checked by its first push and
the close date comes with the pull pass (both after the ack, through the
outbox and the tick), and a problem reaches the seller by DM."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.text import escape
from commands import syntax as c
from commands.dates import quote
from commands.template_commands import Refused
from reminders.crm import adapter, fields
from storage import access, clock, crm, uploads
from storage.db import Database
from storage.models import CrmLink
from storage.rules import Actor
from storage.services import NotFound

_ACTIONS = ("connect", "disconnect", "link", "unlink", "fields", "push")
_USAGE = (
    "Say `/map crm` to see the settings, or `connect hubspot|salesforce &lt;token&gt;`, "
    "`link &lt;deal id or URL&gt;`, `unlink`, `fields [field=property …]`, `push`, `disconnect`."
)


def parse_crm(rest: str) -> c.Crm:
    words = rest.split()
    if not words:
        return c.Crm("show")
    action, args = words[0].lower(), words[1:]
    if action == "connect":
        if len(args) != 2 or args[0].lower() not in adapter.VENDORS:
            raise Refused(
                "Say `/map crm connect hubspot &lt;private-app token&gt;` or "
                "`salesforce &lt;token&gt;`."
            )
        token = args[1]
        if not 10 <= len(token) <= 500 or not token.isprintable():
            raise Refused("That doesn't look like a CRM token.")  # never echo a secret
        return c.Crm("connect", args[0].lower(), (token,))
    if action == "link" and len(args) == 1:
        return c.Crm("link", words=(args[0],))
    if action == "fields":
        return c.Crm("fields", words=tuple(args))
    if action in _ACTIONS and not args:
        return c.Crm(action)  # type: ignore[arg-type]
    raise Refused(_USAGE)


def run_crm(db: Database, actor: Actor, channel_id: str, cmd: c.Crm) -> str:
    if cmd.action == "connect":
        with db.write() as s:
            crm.connect(s, actor, cmd.vendor, cmd.words[0], clock.wall())
        name = "HubSpot" if cmd.vendor == "hubspot" else "Salesforce"
        return (
            f":white_check_mark: {name} is connected for this workspace (the token is stored "
            "encrypted). Link a plan with `/map crm link &lt;deal id or URL&gt;` in its channel."
        )
    if cmd.action == "disconnect":
        with db.write() as s:
            gone = crm.disconnect(s, actor)
        return "The CRM is disconnected; its token is deleted." if gone else "No CRM is connected."
    if cmd.action == "fields":
        try:
            chosen = fields.parse_assignments(list(cmd.words))
        except ValueError as e:
            raise Refused(str(e)) from e
        with db.write() as s:
            if chosen:
                crm.set_fields(s, actor, chosen)
            return _fields_text(s, actor)
    with db.write() as s:
        plan = access.plan_in_channel(s, actor, channel_id)
        if cmd.action == "show":
            return _show(s, actor, plan.id if plan is not None else None)
        if plan is None:
            raise NotFound("There's no plan in this channel yet.")
        if cmd.action == "unlink":
            return (
                "The plan is unlinked from its deal."
                if crm.unlink(s, actor, plan)
                else ("This plan isn't linked to a deal.")
            )
        if cmd.action == "push":
            if not plan.crm_linked:
                raise NotFound(
                    "This plan isn't linked to a deal: `/map crm link &lt;deal&gt;` first."
                )
            crm.require_seller(actor)
            crm.mark_push(s, plan)
            return "The plan's fields go to its deal now."
        conn = crm.connection(s, actor.team_id)
        if conn is None:
            raise NotFound(
                "No CRM is connected: `/map crm connect hubspot|salesforce &lt;token&gt;`."
            )
        vendor: adapter.Vendor = "hubspot" if conn.vendor == "hubspot" else "salesforce"
        object_id = adapter.deal_ref(vendor, cmd.words[0])
        if object_id is None:
            what = (
                "a HubSpot deal id or URL"
                if vendor == "hubspot"
                else ("a Salesforce opportunity id (006…) or URL")
            )
            raise Refused(f"{quote(cmd.words[0][:60])} isn't {what}.")
        crm.link(s, actor, plan, object_id, "")
    return (
        f":link: This plan is linked to {vendor} deal `{object_id}`: its progress, milestone, "
        "health, forecast and next buyer step go there on every change, and the deal's close "
        "date comes back as go-live. If the deal can't be found you'll get a DM."
    )


def _show(s: Session, actor: Actor, plan_id: int | None) -> str:
    crm.require_seller(actor)
    conn = crm.connection(s, actor.team_id)
    if conn is None:
        return "No CRM is connected. " + _USAGE
    lines = [f"CRM: *{conn.vendor}*, connected by <@{conn.added_by}>."]
    if conn.broken:
        lines.append(f":warning: Sync stopped: {escape(conn.broken)} Connect again to resume.")
    link = s.get(CrmLink, plan_id) if plan_id is not None else None
    if link is not None:
        lines.append(f"This plan is linked to deal `{link.object_id}`.")
        if link.error:
            lines.append(f":warning: {escape(link.error)}")
    elif plan_id is not None:
        lines.append("This plan isn't linked: `/map crm link &lt;deal id or URL&gt;`.")
    return "\n".join(lines)


def _fields_text(s: Session, actor: Actor) -> str:
    conn = crm.connection(s, actor.team_id)
    if conn is None:
        raise NotFound("No CRM is connected: `/map crm connect hubspot|salesforce &lt;token&gt;`.")
    chosen = fields.mapping("hubspot" if conn.vendor == "hubspot" else "salesforce", conn.fields)
    rows = [
        f"• {name} → " + ("(not pushed)" if prop == fields.OFF else f"`{prop}`")
        for name, prop in chosen.items()
    ]
    return "Pushed to the deal:\n" + "\n".join(rows)


def parse_export(rest: str) -> c.Export:
    fmt = rest.strip().lower()
    if fmt == "csv":
        return c.Export("csv")
    if fmt == "json":
        return c.Export("json")
    raise Refused("Say `/map export csv` or `/map export json`.")


def run_export(db: Database, actor: Actor, channel_id: str, cmd: c.Export) -> str:
    """Queue the file (sent by the outbox worker, checked again for the asker then)."""
    with db.write() as s:
        plan = access.plan_in_channel(s, actor, channel_id)
        if plan is None:
            raise NotFound("There's no plan in this channel yet.")
        uploads.request_export(s, actor, plan, cmd.fmt, clock.wall())
    what = "with internal tasks" if actor.side == "seller" else "as your team sees it"
    return f":inbox_tray: I'll send you the plan ({what}) as a {cmd.fmt.upper()} file in a DM."
