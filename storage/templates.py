"""Plan templates as YAML: parse with line-numbered errors, write back, and turn
a plan into a template. Pure: no database here.

    name: enterprise
    title: Enterprise deal
    milestones:
      - title: Security review
        tasks:
          - title: Complete the security questionnaire
            owner: buyer                       # buyer | seller | mutual
            due: 25 business days before go-live
            internal: false                    # optional

`due` is one of: `N [business] days before|after go-live`, `on go-live`,
`N [business] days after <milestone title>` (after that milestone's last task),
or nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import yaml

from storage import services, template_yaml
from storage.limits import MAX_TEMPLATE_MILESTONES, MAX_TEMPLATE_TASKS
from storage.workdays import business_days_between, shift

OWNERS = ("buyer", "seller", "mutual")
MAX_TITLE = services.MAX_TITLE  # the limit the services enforce when laying out
MAX_DUE_DAYS = 9999  # the most a due phrase says (four digits, about 27 years)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DUE_RE = re.compile(
    r"^(?:(?P<on>on go-?live)"
    r"|(?P<n>\d{1,4}) (?P<business>business |working )?days? (?P<dir>before|after) "
    r"(?P<anchor>.+))$",
    re.IGNORECASE,
)


class TemplateError(ValueError):
    """Every problem found, each with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Due:
    """A due date relative to the target date, or to a milestone's end."""

    days: int  # signed: negative is before
    business: bool
    after_milestone: str | None = None  # None: relative to go-live

    def text(self) -> str:
        if self.days == 0 and self.after_milestone is None:
            return "on go-live"
        unit = "business days" if self.business else "days"
        anchor = self.after_milestone or "go-live"
        direction = "before" if self.days < 0 else "after"
        return f"{abs(self.days)} {unit} {direction} {anchor}"


@dataclass(frozen=True)
class TaskTemplate:
    title: str
    owner: str = "mutual"
    due: Due | None = None
    internal: bool = False


@dataclass(frozen=True)
class MilestoneTemplate:
    title: str
    tasks: tuple[TaskTemplate, ...] = ()


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str = ""
    milestones: tuple[MilestoneTemplate, ...] = field(default_factory=tuple)

    @property
    def task_count(self) -> int:
        return sum(len(m.tasks) for m in self.milestones)


# --- reading ---------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, what: str, problems: list[str]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"line {_line(node)}: {what} should be a mapping (key: value lines)")
        return {}
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if str(key.value) in out:  # YAML keeps the last silently; say so instead
            problems.append(f"line {_line(key)}: “{key.value}” is given twice")
        out[str(key.value)] = value
    return out


def _scalar(node: yaml.Node | None, what: str, problems: list[str], *, required: bool) -> str:
    if node is None:
        return ""
    if not isinstance(node, yaml.ScalarNode):
        problems.append(f"line {_line(node)}: {what} should be plain text")
        return ""
    value = str(node.value).strip()
    if required and not value:
        problems.append(f"line {_line(node)}: {what} is empty")
    return value


def parse_due(text: str) -> Due:
    """`10 business days before go-live` → Due(-10, True); ValueError if unreadable."""
    m = DUE_RE.match(" ".join(text.split()))
    if m is None:
        raise ValueError(
            f"can't read due “{text}”: write e.g. “10 business days before go-live”, "
            "“3 days after go-live”, “on go-live” or “5 business days after Legal review”"
        )
    if m.group("on"):
        return Due(0, False)
    days = int(m.group("n")) * (-1 if m.group("dir").lower() == "before" else 1)
    anchor = m.group("anchor").strip()
    business = bool(m.group("business"))
    if anchor.lower().replace("-", "") in ("golive", "go live"):
        return Due(days, business)
    if days < 0:
        raise ValueError(f"“{text}”: a milestone anchor takes “after”, not “before”")
    return Due(days, business, after_milestone=anchor)


def _task(node: yaml.Node, problems: list[str], earlier: list[MilestoneTemplate]) -> TaskTemplate:
    fields = _mapping(node, "a task", problems)
    unknown = set(fields) - {"title", "owner", "due", "internal"}
    for key in sorted(unknown):
        problems.append(f"line {_line(fields[key])}: unknown task field “{key}”")
    title = _scalar(fields.get("title"), "task title", problems, required=True)
    if "title" not in fields:
        problems.append(f"line {_line(node)}: a task needs a title")
    if len(title) > MAX_TITLE:
        problems.append(f"line {_line(fields['title'])}: title longer than {MAX_TITLE} characters")
    owner = _scalar(fields.get("owner"), "owner", problems, required=False) or "mutual"
    if owner not in OWNERS:
        problems.append(f"line {_line(fields['owner'])}: owner must be buyer, seller or mutual")
    due: Due | None = None
    due_text = _scalar(fields.get("due"), "due", problems, required=False)
    if due_text:
        try:
            due = parse_due(due_text)
        except ValueError as e:
            problems.append(f"line {_line(fields['due'])}: {e}")
        if due is not None and due.after_milestone is not None:
            known = {m.title.casefold(): m for m in earlier}
            anchor = known.get(due.after_milestone.casefold())
            if anchor is None:
                problems.append(
                    f"line {_line(fields['due'])}: “{due.after_milestone}” is not an earlier "
                    "milestone of this template"
                )
            elif not any(t.due is not None for t in anchor.tasks):
                # Its end would be unknown, and this task would silently get no date.
                problems.append(
                    f"line {_line(fields['due'])}: “{due.after_milestone}” has no task with a "
                    "due date, so it has no end to count from"
                )
    internal_text = _scalar(fields.get("internal"), "internal", problems, required=False).lower()
    if internal_text not in ("", "true", "false", "yes", "no"):
        problems.append(f"line {_line(fields['internal'])}: internal must be true or false")
    return TaskTemplate(title, owner, due, internal_text in ("true", "yes"))


def parse_template(text: str, *, name: str | None = None) -> Template:
    """YAML text → a template, or TemplateError listing every problem by line."""
    problems: list[str] = []
    try:
        root = template_yaml.compose(text)
    except template_yaml.Refused as e:
        raise TemplateError([str(e)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise TemplateError([f"{where}not valid YAML ({getattr(e, 'problem', e)})"]) from None
    if root is None:
        raise TemplateError(["line 1: the template is empty"])
    top = _mapping(root, "the template", problems)
    for key in sorted(set(top) - {"name", "title", "description", "milestones"}):
        problems.append(f"line {_line(top[key])}: unknown field “{key}”")
    tname = name or _scalar(top.get("name"), "name", problems, required=True)
    if not NAME_RE.match(tname or ""):
        problems.append(
            f"line {_line(top['name']) if 'name' in top else 1}: name must be lowercase letters, "
            "digits, - or _ (e.g. enterprise-deal)"
        )
    title = _scalar(top.get("title"), "title", problems, required=False) or tname
    description = _scalar(top.get("description"), "description", problems, required=False)
    milestones: list[MilestoneTemplate] = []
    node = top.get("milestones")
    if node is None:
        problems.append("line 1: a template needs milestones")
    elif not isinstance(node, yaml.SequenceNode) or not node.value:
        problems.append(f"line {_line(node)}: milestones should be a list of milestones")
    else:
        for m_node in node.value:
            m_fields = _mapping(m_node, "a milestone", problems)
            for key in sorted(set(m_fields) - {"title", "tasks"}):
                problems.append(f"line {_line(m_fields[key])}: unknown milestone field “{key}”")
            m_title = _scalar(m_fields.get("title"), "milestone title", problems, required=True)
            if "title" not in m_fields:
                problems.append(f"line {_line(m_node)}: a milestone needs a title")
            elif len(m_title) > MAX_TITLE:
                problems.append(
                    f"line {_line(m_fields['title'])}: title longer than {MAX_TITLE} characters"
                )
            tasks: list[TaskTemplate] = []
            t_node = m_fields.get("tasks")
            if isinstance(t_node, yaml.SequenceNode):
                tasks = [_task(t, problems, milestones) for t in t_node.value]
            elif t_node is not None:
                problems.append(f"line {_line(t_node)}: tasks should be a list")
            milestones.append(MilestoneTemplate(m_title, tuple(tasks)))
    template = Template(tname, title, description, tuple(milestones))
    problems.extend(size_problems(template))
    if problems:
        raise TemplateError(problems)
    return template


def size_problems(t: Template) -> list[str]:
    """What takes a template past its caps (storage.limits), in words."""
    problems = []
    if len(t.milestones) > MAX_TEMPLATE_MILESTONES:
        problems.append(
            f"{len(t.milestones)} milestones: a template holds at most {MAX_TEMPLATE_MILESTONES}"
        )
    if t.task_count > MAX_TEMPLATE_TASKS:
        problems.append(f"{t.task_count} tasks: a template holds at most {MAX_TEMPLATE_TASKS}")
    return problems


# --- writing ---------------------------------------------------------------------


def to_yaml(t: Template) -> str:
    def task(x: TaskTemplate) -> dict[str, Any]:
        out: dict[str, Any] = {"title": x.title, "owner": x.owner}
        if x.due is not None:
            out["due"] = x.due.text()
        if x.internal:
            out["internal"] = True
        return out

    data: dict[str, Any] = {"name": t.name, "title": t.title}
    if t.description:
        data["description"] = t.description
    data["milestones"] = [
        {"title": m.title, "tasks": [task(x) for x in m.tasks]} for m in t.milestones
    ]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class PlanTask:
    """What `from_plan` needs of a task (kept free of the ORM)."""

    title: str
    owner: str
    internal: bool
    due_date: date | None
    due_offset_days: int | None
    due_business: bool


def from_plan(
    name: str,
    title: str,
    target: date | None,
    milestones: list[tuple[str, list[PlanTask]]],
    country: str | None = None,
) -> Template:
    """A plan's structure as a template: dates made relative to its target date
    (business days when the date is a business day, else calendar days)."""

    def due_of(t: PlanTask) -> Due | None:
        if t.due_offset_days is not None:
            return Due(t.due_offset_days, t.due_business)
        if t.due_date is None or target is None:
            return None
        if abs((t.due_date - target).days) > MAX_DUE_DAYS:
            return None  # further out than a due phrase can say
        n = business_days_between(target, t.due_date, country)
        if shift(target, n, True, country) == t.due_date:
            return Due(n, True)
        return Due((t.due_date - target).days, False)

    return Template(
        name,
        title,
        "",
        tuple(
            MilestoneTemplate(
                m, tuple(TaskTemplate(t.title, t.owner, due_of(t), t.internal) for t in ts)
            )
            for m, ts in milestones
        ),
    )


# --- laying out dates ------------------------------------------------------------


@dataclass(frozen=True)
class LaidOutTask:
    milestone: str
    title: str
    owner: str
    internal: bool
    due: date | None
    offset_days: int | None  # relative to go-live, for tasks that move with it
    business: bool


def _calendar_days(offset: tuple[int, bool], target: date | None, country: str | None) -> float:
    """How far from go-live an offset lands in calendar days (estimated without a target)."""
    days, business = offset
    if target is None:
        return days * 7 / 5 if business else days
    return (shift(target, days, business, country) - target).days


def _after(
    anchor: tuple[int, bool], due: Due, target: date | None, country: str | None
) -> tuple[int, bool]:
    """N (business) days after a milestone's end, as an offset from go-live."""
    if anchor[1] == due.business:
        return (anchor[0] + due.days, due.business)
    if not due.business:  # calendar days after a business-day end
        return (round(_calendar_days(anchor, target, country)) + due.days, False)
    if target is None:  # business days after a calendar-day end: estimate
        return (round(anchor[0] * 5 / 7) + due.days, True)
    end = shift(shift(target, anchor[0], False), due.days, True, country)
    n = business_days_between(target, end, country)
    if shift(target, n, True, country) == end:
        return (n, True)
    return ((end - target).days, False)


def lay_out(t: Template, target: date | None, country: str | None = None) -> list[LaidOutTask]:
    """Concrete dates for every task. "After a milestone" is turned into an offset
    from go-live (that milestone's last date plus N), so it moves with go-live too."""
    ends: dict[str, tuple[int, bool] | None] = {}
    out: list[LaidOutTask] = []
    for m in t.milestones:
        last: tuple[int, bool] | None = None
        for task in m.tasks:
            offset: tuple[int, bool] | None = None
            if task.due is not None and task.due.after_milestone is None:
                offset = (task.due.days, task.due.business)
            elif task.due is not None and task.due.after_milestone is not None:
                anchor = ends.get(task.due.after_milestone.casefold())
                if anchor is not None:
                    offset = _after(anchor, task.due, target, country)
            due = shift(target, offset[0], offset[1], country) if (target and offset) else None
            out.append(
                LaidOutTask(
                    m.title,
                    task.title,
                    task.owner,
                    task.internal,
                    due,
                    offset[0] if offset else None,
                    offset[1] if offset else False,
                )
            )
            if offset is not None and (
                last is None
                or _calendar_days(offset, target, country) >= _calendar_days(last, target, country)
            ):
                last = offset
        ends[m.title.casefold()] = last
    return out


# --- built-in templates ----------------------------------------------------------

BUILTIN_PACKAGE = "storage.builtin_templates"


def builtin_names() -> list[str]:
    files = resources.files(BUILTIN_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def builtin(name: str) -> Template | None:
    path = resources.files(BUILTIN_PACKAGE) / f"{name}.yaml"
    if not path.is_file():
        return None
    return parse_template(path.read_text(encoding="utf-8"))
