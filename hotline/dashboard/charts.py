"""Server-drawn SVG charts from the aggregate counters (no script, so the CSP stays strict)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from hotline.content.model import Content

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    """Geometry for one server-side SVG chart (columns per day, or horizontal bars)."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    legend: list[str] = field(default_factory=list)
    peak: int = 0
    left: int = 0   # where the plot starts (columns: the y axis)
    base: int = 0   # the baseline (columns: the x axis)


def column_chart(days: list[str], series: list[tuple[str, list[int]]]) -> Chart:
    """Grouped columns, one group per day, one column per series."""
    width, height, left, top, plot_h = 700, 200, 40, 10, 160
    group = (width - left) / max(len(days), 1)
    each = group * 0.8 / max(len(series), 1)
    peak = max([v for _, values in series for v in values] + [1])
    bars, labels = [], []
    for i, day in enumerate(days):
        d = date.fromisoformat(day)
        labels.append(Label(round(left + i * group + group / 2, 1), height - 12, f"{d.day}.{d.month:02d}"))
        for s, (name, values) in enumerate(series):
            h = values[i] / peak * plot_h
            bars.append(Bar(round(left + i * group + group * 0.1 + s * each, 1), round(top + plot_h - h, 1),
                            round(each, 1), round(h, 1), s, f"{name}, {day}: {values[i]}"))
    return Chart(width, height, bars, labels, [name for name, _ in series], peak, left, top + plot_h)


def bar_list(items: list[tuple[str, int]]) -> Chart:
    """Horizontal bars with the label on the left and the number on the right."""
    width, left, row = 700, 230, 22
    peak = max([v for _, v in items] + [1])
    bars, labels = [], []
    for i, (name, value) in enumerate(items):
        w = value / peak * (width - left - 60)
        bars.append(Bar(left, i * row + 3, round(w, 1), row - 6, 0, f"{name}: {value}"))
        labels.append(Label(left - 8, i * row + 15, name, "end"))
        labels.append(Label(round(left + w + 6, 1), i * row + 15, str(value), "start"))
    return Chart(width, max(len(items), 1) * row, bars, labels, [], peak, left)


def totals(days: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counters in days.values():
        for name, value in counters.items():
            out[name] = out.get(name, 0) + value
    return out


def sms_failed(counters: dict[str, int]) -> int:
    """Refused by Twilio when sent, or reported failed/undelivered afterwards."""
    return sum(counters.get(k, 0) for k in ("sms.failed", "sms.status.failed", "sms.status.undelivered"))


def by_node(c: Content, total: dict[str, int], prefix: str) -> list[tuple[str, int]]:
    """Counters `prefix.<node>` for every node of the menu (zeros too), plus nodes since removed."""
    ids = list(c.nodes) + sorted(k[len(prefix):] for k in total if k.startswith(prefix) and k[len(prefix):] not in c.nodes)
    return sorted(((nid, total.get(prefix + nid, 0)) for nid in ids), key=lambda item: -item[1])
