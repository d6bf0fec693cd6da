"""The plan's timeline as a PNG: milestones as bars coloured by status, the target
line, today, and the forecast go-live with its P10–P90 range.

Pure: `timeline_of` builds the picture's content from a plan view made for the
buyer side (so internal tasks shape nothing in it, not even a bar's length), and
`render_png` draws it with matplotlib's Agg canvas — no display, no pyplot and
its global state, so worker threads may draw at once. The picture names only the
plan and its milestones, which everyone in the channel already sees on the card.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bot.text import truncate
from storage.readmodel import PlanView

WIDTH_PX = 1200
ROW_PX = 44  # one milestone
FRAME_PX = 170  # title, axis and legend
DPI = 100
MAX_ROWS = 30  # far above a real plan; the picture stays readable
COLOURS = {"completed": "#2a9d8f", "in_progress": "#e9c46a", "not_started": "#adb5bd"}
LABELS = {"completed": "Completed", "in_progress": "In progress", "not_started": "Not started"}


def date2num(d: date) -> float:
    """matplotlib's day number of a date (typed: matplotlib.dates is not)."""
    return float(mdates.date2num(d))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Bar:
    title: str
    start: date
    end: date
    status: str


@dataclass(frozen=True)
class ForecastRange:
    p10: date
    p50: date
    p90: date


@dataclass(frozen=True)
class Timeline:
    title: str
    bars: tuple[Bar, ...]
    today: date
    target: date | None
    forecast: ForecastRange | None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels of the PNG."""
        return WIDTH_PX, FRAME_PX + ROW_PX * max(1, len(self.bars))


def timeline_of(
    view: PlanView, today: date, started: date, forecast: ForecastRange | None
) -> Timeline:
    """The bars of a buyer-side view: a milestone runs from where the one before it
    ended (the plan's start for the first) to its due date, or its last task's."""
    if view.side != "buyer":
        raise ValueError("the timeline is shared in the channel: draw it from a buyer's view")
    bars: list[Bar] = []
    start = started
    for m in view.milestones[:MAX_ROWS]:
        dues = [t.due_date for t in m.tasks if t.due_date is not None]
        end = m.due_date or (max(dues) if dues else None) or start + timedelta(days=7)
        end = max(end, start + timedelta(days=1))  # a bar is never empty or backwards
        bars.append(Bar(truncate(m.title, 60), start, end, m.status))
        start = end
    return Timeline(truncate(view.title, 80), tuple(bars), today, view.target_date, forecast)


def alt_text(t: Timeline) -> str:
    """What a screen reader says instead (files.getUploadURLExternal's alt_txt, at
    most 1,000 characters)."""
    done = sum(1 for b in t.bars if b.status == "completed")
    parts = [f"Timeline of {t.title}: {done} of {len(t.bars)} milestones completed."]
    current = next((b for b in t.bars if b.status != "completed"), None)
    if current is not None:
        parts.append(f"Now at {current.title}, planned until {current.end:%b %d}.")
    if t.target is not None:
        parts.append(f"Target {t.target:%b %d, %Y}.")
    if t.forecast is not None:
        f = t.forecast
        parts.append(f"Forecast go-live {f.p50:%b %d} (likely {f.p10:%b %d} to {f.p90:%b %d}).")
    return truncate(" ".join(parts), 1000)


def draw(t: Timeline) -> Figure:
    """The figure (tests read its text artists: what the picture says)."""
    width, height = t.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.22, FRAME_PX * 0.55 / height, 0.74, 1 - FRAME_PX / height))
    rows = list(reversed(t.bars))  # the first milestone on top
    for y, bar in enumerate(rows):
        ax.barh(
            y,
            date2num(bar.end) - date2num(bar.start),
            left=date2num(bar.start),
            height=0.6,
            color=COLOURS.get(bar.status, COLOURS["not_started"]),
            edgecolor="#343a40",
            linewidth=0.5,
        )
    ax.set_yticks(range(len(rows)), [b.title for b in rows], fontsize=9)
    ax.set_ylim(-1, max(1, len(rows)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelsize=8)
    ax.axvline(date2num(t.today), color="#264653", linestyle=":", linewidth=1.5, label="Today")
    if t.target is not None:
        ax.axvline(date2num(t.target), color="#e63946", linewidth=2, label="Target")
    if t.forecast is not None:
        f = t.forecast
        ax.axvspan(
            date2num(f.p10), date2num(f.p90), color="#457b9d", alpha=0.18, label="Forecast P10–P90"
        )
        ax.axvline(date2num(f.p50), color="#457b9d", linestyle="--", linewidth=2, label="Forecast")
    shown = [b.start for b in t.bars] + [b.end for b in t.bars] + [t.today]
    shown += [t.target] if t.target is not None else []
    shown += [t.forecast.p10, t.forecast.p90] if t.forecast is not None else []
    ax.set_xlim(date2num(min(shown) - timedelta(days=3)), date2num(max(shown) + timedelta(days=5)))
    lines, _ = ax.get_legend_handles_labels()
    statuses = [Patch(color=colour, label=LABELS[s]) for s, colour in COLOURS.items()]
    ax.legend(
        handles=[*statuses, *lines],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=7,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(t.title, fontsize=12, x=0.02, ha="left")
    return fig


def render_png(t: Timeline) -> bytes:
    """The PNG of `t`, exactly `t.size` pixels (no tight bounding box)."""
    out = io.BytesIO()
    draw(t).savefig(out, format="png", dpi=DPI, metadata={"Title": t.title, "Software": None})
    return out.getvalue()
