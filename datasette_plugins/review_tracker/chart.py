"""The dashboard's chart of status counts over time: inline SVG drawn on the server, no JavaScript."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

from tracker.status import NO_POSITION

from .data import NO_STATUS, parse_day
from .rendering import COLOURS, humanise

# Stacking order: progress at the bottom, items still waiting on top.
CHART_ORDER = (
    "implemented",
    "in_progress",
    "planned",
    "accepted_no_action_found",
    "deferred",
    "noted_no_commitment",
    "not_accepted",
    "stalled",
    "reversed",
    NO_POSITION,
    NO_STATUS,
)
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 10, 28  # margins


class Frame:
    """Maps days and counts to SVG coordinates."""

    def __init__(self, start: int, end: int, total: int, width: int, height: int) -> None:
        self.start, self.end, self.total = start, end, total
        self.width, self.height = width, height
        self.plot_w, self.plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(self, day: int) -> float:
        return LEFT + (day - self.start) / (self.end - self.start) * self.plot_w

    def y(self, count: float) -> float:
        return TOP + self.plot_h - count / self.total * self.plot_h


def bands(points: list[dict], days: list[int], frame: Frame) -> list[str]:
    """One rectangle per status and period, stacked in CHART_ORDER, each with a tooltip."""
    parts = []
    for index in range(len(points) - 1):
        x0, x1 = frame.x(days[index]), frame.x(days[index + 1])
        if x1 - x0 <= 0:
            continue
        stacked = 0
        for status in CHART_ORDER:
            n = points[index]["counts"].get(status, 0)
            if not n:
                continue
            background = COLOURS.get(status, COLOURS[NO_STATUS])[0]
            label = escape(f"{points[index]['date']} to {points[index + 1]['date']}: {n} {humanise(status)}")
            parts.append(
                f'<rect x="{x0:.1f}" y="{frame.y(stacked + n):.1f}" width="{x1 - x0 + 0.3:.1f}" height="{frame.y(stacked) - frame.y(stacked + n):.1f}" '
                f'fill="{background}"><title>{label}</title></rect>'
            )
            stacked += n
    return parts


def axes(frame: Frame) -> tuple[list[str], list[str]]:
    """Horizontal grid lines with counts (drawn under the bands), and half-year ticks (over them)."""
    grid = []
    for tick in sorted({0, frame.total // 2, frame.total}):
        y = frame.y(tick)
        grid.append(f'<line x1="{LEFT}" x2="{frame.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        grid.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7280">{tick}</text>')
    ticks = []
    for year in range(date.fromordinal(frame.start).year, date.fromordinal(frame.end).year + 2):
        for month in (1, 7):
            day = date(year, month, 1).toordinal()
            if frame.start <= day <= frame.end:
                x, label = frame.x(day), str(year) if month == 1 else f"Jul {year}"
                ticks.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + frame.plot_h}" stroke="#ffffff" stroke-opacity="0.6"/>')
                ticks.append(f'<text x="{x:.1f}" y="{frame.height - 8}" text-anchor="middle" font-size="11" fill="#6b7280">{escape(label)}</text>')
    baseline = TOP + frame.plot_h
    ticks.append(f'<line x1="{LEFT}" x2="{frame.width - RIGHT}" y1="{baseline}" y2="{baseline}" stroke="#9ca3af"/>')
    return grid, ticks


def status_chart(points: list[dict], width: int = 760, height: int = 260) -> Markup:
    """A stacked step chart of status counts over time (the dashboard's `timeline` points)."""
    if len(points) < 2:
        return Markup("")
    days = [parse_day(p["date"]).toordinal() for p in points]  # type: ignore[union-attr]  # timeline dates always parse
    frame = Frame(days[0], max(days[-1], days[0] + 1), max(sum(p["counts"].values()) for p in points) or 1, width, height)
    grid, ticks = axes(frame)
    parts = [f'<svg class="tr-chart" viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">']
    parts.append("<title>Number of recommendations in each status over time</title>")
    parts += grid + bands(points, days, frame) + ticks
    parts.append("</svg>")
    return Markup("".join(parts))
