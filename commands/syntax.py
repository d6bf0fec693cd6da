"""What a `/map …` line means, as plain data.

The parser (`commands.parser.parse`) turns text into one of these; the handlers
(`commands.handlers`) carry them out. Nothing here touches the database or Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

OwnerSide = Literal["buyer", "seller", "mutual"]
TaskStatus = Literal["not_started", "in_progress", "completed"]


@dataclass(frozen=True)
class TaskRef:
    """A task as the user named it: `#7` (number) or words of its title."""

    number: int | None = None
    words: str = ""

    def __str__(self) -> str:
        return f"#{self.number}" if self.number is not None else self.words


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a verb, e.g. "add"; None for the overview


@dataclass(frozen=True)
class Create:
    title: str
    golive: date | None = None
    template: str | None = None  # `from <template>` (templates issue)


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Mine:
    pass


@dataclass(frozen=True)
class MilestoneAdd:
    title: str
    due: date | None = None


@dataclass(frozen=True)
class MilestoneStatus:
    """`milestone status <name> done|started|not started|auto` (auto clears the override)."""

    milestone: str
    status: TaskStatus | None


@dataclass(frozen=True)
class Add:
    title: str
    milestone: str | None = None
    owner: OwnerSide | None = None
    assignee: str | None = None  # Slack user id
    due: date | None = None
    internal: bool = False


@dataclass(frozen=True)
class Assign:
    task: TaskRef
    user_id: str | None  # None: `assign #3 nobody`


@dataclass(frozen=True)
class SetStatus:
    """`start`, `done` and `reopen`."""

    task: TaskRef
    status: TaskStatus


@dataclass(frozen=True)
class Due:
    task: TaskRef
    due: date | None  # None: `due #3 none`


@dataclass(frozen=True)
class GoLive:
    target: date | None  # None: `golive none`


@dataclass(frozen=True)
class Move:
    """`move #7 to <milestone>`."""

    task: TaskRef
    milestone: str


@dataclass(frozen=True)
class RenameTask:
    """`rename #7 to <new title>`."""

    task: TaskRef
    title: str


@dataclass(frozen=True)
class RenameMilestone:
    """`rename milestone <name> to <new title>`."""

    milestone: str
    title: str


@dataclass(frozen=True)
class RenamePlan:
    """`rename plan to <new title>`."""

    title: str


@dataclass(frozen=True)
class RemoveTask:
    task: TaskRef


@dataclass(frozen=True)
class RemoveMilestone:
    milestone: str


@dataclass(frozen=True)
class AddDialog:
    """`/map add` with nothing after it: the task modal."""


@dataclass(frozen=True)
class Overview:
    """`/map overview`: the modal editing why, goals, success criteria and go-live."""


@dataclass(frozen=True)
class People:
    """`/map people`: who is on the deal, their role, side and contact details."""


@dataclass(frozen=True)
class DraftDialog:
    """`/map draft`: the modal to paste call notes in (bot.listeners.drafting)."""


# Commands answered by opening a modal (the slash listener has the trigger_id).
Dialog = AddDialog | Overview | People


@dataclass(frozen=True)
class Remind:
    """`remind` (show), `remind lead N`, `remind digest <day> <HH:MM>`,
    `remind weekends on|off`, `remind on|off`."""

    setting: Literal["show", "lead", "digest", "weekends", "power"]
    number: int = 0  # lead days; digest weekday (0 = Monday)
    minute: int = 0  # digest time, minutes after midnight
    on: bool = True


@dataclass(frozen=True)
class MuteDigests:
    """`mute digests` / `unmute digests`: the daily digest DM, for me."""

    muted: bool


@dataclass(frozen=True)
class CreateDialog:
    """`/map create` alone: the create form, with its template picker."""


@dataclass(frozen=True)
class TemplateCommand:
    """`template list|show|save|delete|export|import …` (team templates)."""

    action: Literal["list", "show", "save", "delete", "export", "import"]
    name: str | None = None
    yaml_text: str | None = None  # `import`: the YAML pasted after the first line


@dataclass(frozen=True)
class Extend:
    """`extend <template>`: carry on after signature (e.g. with `onboarding`)."""

    template: str


@dataclass(frozen=True)
class Country:
    """`country <code>|none`: whose public holidays relative dates skip."""

    code: str | None


@dataclass(frozen=True)
class Managers:
    """`managers [list]`, `managers add @x`, `managers remove @x` (seller only)."""

    action: Literal["list", "add", "remove"]
    user_id: str | None = None


@dataclass(frozen=True)
class PipelineFilter:
    """Which plans of the pipeline: all I may see, mine, at risk, stalled, one owner's."""

    kind: Literal["all", "mine", "at-risk", "stalled", "owner"] = "all"
    owner: str | None = None


@dataclass(frozen=True)
class Pipeline:
    """`pipeline [mine|at-risk|stalled|owner @x] [csv]`: the deals at a glance."""

    filter: PipelineFilter
    csv: bool = False  # the whole list as a CSV file, by DM


@dataclass(frozen=True)
class Timeline:
    """`timeline`: the plan's timeline picture, uploaded to the channel."""


@dataclass(frozen=True)
class WebhookCommand:
    """`webhook add <url> [internal]`, `webhook list`, `webhook remove <n>`,
    `webhook test [<n>]` (commands.webhook_commands)."""

    action: Literal["add", "list", "remove", "test"]
    url: str = ""
    internal: bool = False
    endpoint_id: int | None = None


@dataclass(frozen=True)
class CalendarCommand:
    """`calendar` (the feed's URL) or `calendar reset` (a new one; the old stops)."""

    reset: bool = False


@dataclass(frozen=True)
class Summary:
    """`summary`: the MAP summary for me; `summary share`: the buyer-safe one, in the channel."""

    share: bool = False


@dataclass(frozen=True)
class HealthCommand:
    """`health`: the plan's health, forecast and thresholds; `health stall 10 …` sets
    thresholds (a name of storage.plan_facts.HealthSettings → days/count, None: default)."""

    changes: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True)
class Crm:
    """`crm` (show), `crm connect hubspot|salesforce <token>`, `crm disconnect`,
    `crm link <deal id or URL>`, `crm unlink`, `crm fields [field=property …]`,
    `crm push`."""

    action: Literal["show", "connect", "disconnect", "link", "unlink", "fields", "push"]
    vendor: str = ""
    words: tuple[str, ...] = ()  # the token; the deal; field=property assignments


@dataclass(frozen=True)
class Export:
    """`export csv|json`: the plan as a file, by DM (internal tasks for sellers only)."""

    fmt: Literal["csv", "json"]


Command = (
    Help
    | Create
    | Status
    | Mine
    | MilestoneAdd
    | MilestoneStatus
    | Add
    | Assign
    | SetStatus
    | Due
    | GoLive
    | Move
    | RenameTask
    | RenameMilestone
    | RenamePlan
    | RemoveTask
    | RemoveMilestone
    | AddDialog
    | Overview
    | People
    | TemplateCommand
    | CreateDialog
    | Remind
    | MuteDigests
    | Extend
    | Country
    | DraftDialog
    | Managers
    | Pipeline
    | Timeline
    | WebhookCommand
    | CalendarCommand
    | Summary
    | HealthCommand
    | Crm
    | Export
)


@dataclass(frozen=True)
class ParseError:
    """Bad input: what was wrong, and the usage of the verb it was meant for."""

    message: str
    verb: str | None  # None when the verb itself was unknown: show the overview
