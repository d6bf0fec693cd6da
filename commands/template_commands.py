"""`/map template …`, `/map extend …`, `/map country …` and the go-live preview:
parsing their text and carrying them out. Storage does the work
(storage.template_store); this turns it into words."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bot.text import escape, truncate, unescape
from commands import syntax as c
from commands.dates import format_date
from storage import services, template_store
from storage.models import Plan
from storage.rules import Actor, visible_to
from storage.templates import Template, TemplateError, to_yaml
from storage.workdays import is_known_country

ACTIONS = ("list", "show", "save", "delete", "export", "import")


class Refused(ValueError):
    """Bad input for these commands; the parser shows it with the usage."""


# --- parsing -------------------------------------------------------------------------


def parse_template(rest: str, today: date) -> c.Command:
    # Slack sends a typed `&`, `<`, `>` escaped: names and YAML are read as typed.
    first_line, _, body = unescape(rest).partition("\n")
    words = first_line.split()
    if not words:
        return c.TemplateCommand("list")
    action = words[0].lower()
    if action not in ACTIONS:
        raise Refused(f"“{escape(truncate(words[0], 40))}” isn't a template command.")
    if action == "list":
        return c.TemplateCommand("list")
    if len(words) != 2:
        raise Refused(f"Say one template name: `/map template {action} &lt;name&gt;`.")
    name = words[1].lower()
    if action == "import":
        if not body.strip():
            raise Refused(
                "Paste the template's YAML on the lines after `/map template import &lt;name&gt;`."
            )
        # Copied from an export, the YAML may come in several ``` fences: drop them.
        lines = [line for line in body.splitlines() if line.strip() not in ("```", "```yaml")]
        return c.TemplateCommand("import", name, "\n".join(lines))
    return c.TemplateCommand(action, name)  # type: ignore[arg-type]


def parse_extend(rest: str, today: date) -> c.Command:
    words = unescape(rest).split()
    if len(words) != 1:
        raise Refused("Say which template: `/map extend onboarding`.")
    return c.Extend(words[0].lower())


def parse_country(rest: str, today: date) -> c.Command:
    words = unescape(rest).split()
    if len(words) != 1:
        raise Refused("Say a country code: `/map country US` (or `none`).")
    code = words[0].upper()
    if code == "NONE":
        return c.Country(None)
    if not is_known_country(code):
        raise Refused(
            f"“{escape(truncate(words[0], 20))}” isn't a country code I know (e.g. US, GB, DE, FR)."
        )
    return c.Country(code)


# --- carrying out ----------------------------------------------------------------------


def describe(t: Template) -> str:
    lines = [
        f"*{escape(t.title)}* (`{t.name}`) — {len(t.milestones)} milestones, {t.task_count} tasks"
    ]
    if t.description:
        lines.append(f"_{escape(t.description)}_")
    for m in t.milestones:
        lines.append(f"*{escape(m.title)}*")
        for task in m.tasks:
            due = f" · {task.due.text()}" if task.due else ""
            internal = " · 🔒 internal" if task.internal else ""
            lines.append(f"  • {escape(task.title)} · {task.owner}{due}{internal}")
    return "\n".join(lines)


def laid_out_summary(laid: template_store.Laid, template: str, today: date) -> str:
    text = f"Laid out *{laid.added}* tasks from `{escape(template)}`."
    if laid.plan.target_date is None:
        text += (
            " No go-live date yet, so relative dates are waiting for `/map golive &lt;date&gt;`."
        )
    if laid.past:
        listing = ", ".join(f"#{n} ({format_date(d, today)})" for n, _t, d in laid.past[:10])
        text += (
            f"\n:warning: {len(laid.past)} would be due in the past: {listing}. "
            "They are left as they are: move go-live or set those dates by hand."
        )
    return text


def export_yaml(s: Session, actor: Actor, name: str) -> str:
    template_store.require_seller(actor)
    return to_yaml(template_store.find_template(s, actor.team_id, name))


def _save(s: Session, actor: Actor, name: str, yaml_text: str) -> Template:
    try:
        return template_store.save_template(s, actor, name, yaml_text)
    except TemplateError as e:
        # The problems quote the pasted text: escaped, so a key can't ping anyone.
        raise services.Invalid(
            "That template has problems:\n{problems}",
            problems="\n".join(f"• {p}" for p in e.problems),
        ) from None


def run_template(
    s: Session, actor: Actor, plan: Plan | None, cmd: c.TemplateCommand, today: date
) -> str:
    template_store.require_seller(actor)
    if cmd.action == "list":
        rows = template_store.list_templates(s, actor.team_id)
        return "*Templates*\n" + "\n".join(f"• `{n}` — {kind}" for n, kind in rows)
    name = cmd.name or ""
    if cmd.action == "show":
        return describe(template_store.find_template(s, actor.team_id, name))
    if cmd.action == "delete":
        template_store.delete_template(s, actor, name)
        return f"Deleted the team template `{escape(name)}`."
    if cmd.action == "import":
        t = _save(s, actor, name, cmd.yaml_text or "")
        return f"Imported `{t.name}`: {len(t.milestones)} milestones, {t.task_count} tasks."
    if plan is None:
        raise services.NotFound("Run `/map template save` in a channel with a plan.")
    t = template_store.plan_as_template(s, plan, name)
    _save(s, actor, name, to_yaml(t))
    return (
        f"Saved this plan as the team template `{escape(name)}` "
        f"({t.task_count} tasks, dates relative to go-live)."
    )


def run_extend(s: Session, actor: Actor, plan: Plan, cmd: c.Extend, today: date) -> str:
    template = template_store.find_template(s, actor.team_id, cmd.template)
    laid = template_store.apply_template(s, actor, plan, template, today)
    return laid_out_summary(laid, template.name, today)


def run_country(s: Session, actor: Actor, plan: Plan, cmd: c.Country, today: date) -> str:
    moved = services.set_country(s, actor, plan, cmd.code)
    where = f"{cmd.code}'s public holidays" if cmd.code else "weekends only"
    tail = f" {len(moved)} relative dates moved." if moved else ""
    return f"Business-day dates now skip {where}.{tail}"


def preview_text(preview: template_store.TargetPreview, target: date, today: date) -> str:
    lines = [f"Moving go-live to *{format_date(target, today)}* moves *{len(preview.moves)}* tasks"]
    if preview.past:
        lines[0] += f"; *{len(preview.past)}* would land in the past"
    lines[0] += "."
    if preview.pinned:
        lines.append(f"{preview.pinned} dates set by hand stay put.")
    lines.extend(_move_lines(preview.moves, today, 12))
    return "\n".join(lines)


def _move_lines(moves: list[template_store.Move], today: date, limit: int) -> list[str]:
    lines = []
    for m in moves[:limit]:
        was = format_date(m.before, today) if m.before else "no date"
        title = escape(truncate(m.title, 80))
        lines.append(f"• #{m.number} {title}: {was} → {format_date(m.after, today)}")
    if len(moves) > limit:
        lines.append(f"… and {len(moves) - limit} more")
    return lines


def moved_summary(
    moved: list[template_store.Move],
    target: date,
    actor_id: str,
    today: date,
    *,
    by: str | None = None,
) -> str:
    """The one channel message after go-live moved: the channel is buyer-visible,
    so what it lists is what a buyer may see. `by` says who, when not a person."""
    moved = [m for m in moved if visible_to("buyer", m.internal)]
    head = f"{by or f'<@{actor_id}>'} moved the target go-live to *{format_date(target, today)}*"
    if not moved:
        return head + "."
    lines = [head + f": {len(moved)} task dates follow it.", *_move_lines(moved, today, 15)]
    return "\n".join(lines)
