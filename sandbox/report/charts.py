"""Inline SVG charts for the report: no scripts, no external assets, readable without a browser's
help (each chart has a <title> and the numbers are also in a table next to it)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

PALETTE = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#2c7a7b", "#4a5568"]


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11, weight: str = "normal",
          fill: str = "#1a202c") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}"'
            f' fill="{fill}">{escape(text)}</text>')


def _ratio(value: float) -> str:
    return f"{value:.2f}"


def _axis(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def grouped_bars(title: str, groups: list[tuple[str, list[tuple[str, float | None]]]], *, y_label: str = "",
                 width: int = 760, height: int = 280, top: float = 1.0,
                 fmt: Callable[[float], str] = _ratio, axis: Callable[[float], str] = _axis,
                 short: Callable[[float], str] | None = None) -> str:
    """Bars in [0, top] for each group (an agent) and series (a fault profile), with a legend;
    `fmt` writes a bar's value (its tooltip), `short` the label above it (default: `fmt`), `axis` a
    tick's (dollars for the cost chart)."""
    short = short or fmt
    top = top if top > 0 else 1.0
    series = list(dict.fromkeys(name for _, bars in groups for name, _ in bars))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    left, right, margin_top, bottom = 48 if top == 1.0 else 64, 16, 30, 56
    plot_w, plot_h = width - left - right, height - margin_top - bottom
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             _text(left, 18, title, anchor="start", size=13, weight="bold")]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = margin_top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(_text(left - 6, y + 4, axis(tick * top), anchor="end", size=10))
    if y_label:
        parts.append(f'<text transform="translate(12 {margin_top + plot_h / 2}) rotate(-90)" text-anchor="middle"'
                     f' font-size="11" fill="#4a5568">{escape(y_label)}</text>')
    slot = plot_w / max(1, len(groups))
    bar_w = min(36.0, slot * 0.8 / max(1, len(series)))
    for g, (label, bars) in enumerate(groups):
        x0 = left + g * slot + (slot - bar_w * len(series)) / 2
        values = dict(bars)
        for s, name in enumerate(series):
            value = values.get(name)
            x = x0 + s * bar_w
            if value is None:
                continue
            h = plot_h * max(0.0, min(1.0, value / top))
            parts.append(f'<rect x="{x:.1f}" y="{margin_top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}"'
                         f' fill="{colour[name]}"><title>{escape(f"{label} / {name}: {fmt(value)}")}</title></rect>')
            parts.append(_text(x + bar_w / 2 - 1, margin_top + plot_h - h - 3, short(value), size=9))
        parts.append(_text(left + g * slot + slot / 2, margin_top + plot_h + 16, label))
    lx = left
    for name in series:
        parts.append(f'<rect x="{lx}" y="{height - 20}" width="10" height="10" fill="{colour[name]}"/>')
        parts.append(_text(lx + 14, height - 11, name, anchor="start", size=10))
        lx += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def forest(title: str, rows: list[tuple[str, float, float, float]], *, width: int = 760) -> str:
    """Deltas with confidence intervals on a [-1, 1] axis: one line per (label, delta, low, high)."""
    row_h, left, right, top = 24, 280, 30, 34
    height = top + row_h * max(1, len(rows)) + 30
    plot_w = width - left - right

    def x_of(v: float) -> float:
        return left + plot_w * (max(-1.0, min(1.0, v)) + 1) / 2

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             _text(8, 18, title, anchor="start", size=13, weight="bold")]
    for tick in (-1, -0.5, 0, 0.5, 1):
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - 24}"'
                     f' stroke="{"#718096" if tick == 0 else "#e2e8f0"}"/>')
        parts.append(_text(x, height - 10, f"{tick:+g}" if tick else "0", size=10))
    for i, (label, delta, low, high) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        worse = high < 0
        better = low > 0
        colour = "#c53030" if worse else "#2f855a" if better else "#4a5568"
        parts.append(_text(left - 8, y + 4, label, anchor="end", size=11))
        parts.append(f'<line x1="{x_of(low):.1f}" x2="{x_of(high):.1f}" y1="{y:.1f}" y2="{y:.1f}"'
                     f' stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x_of(delta):.1f}" cy="{y:.1f}" r="5" fill="{colour}">'
                     f'<title>{escape(f"{label}: {delta:+.2f} [{low:+.2f}, {high:+.2f}]")}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(exchanges: list[dict], *, width: int = 720) -> str:
    """One episode's exchanges as a strip of marks, coloured by outcome; faults get a red ring."""
    n = max(1, len(exchanges))
    step = min(28.0, (width - 20) / n)
    parts = [f'<svg class="timeline" role="img" viewBox="0 0 {width} 34" width="{width}" height="34"'
             f' xmlns="http://www.w3.org/2000/svg"><title>timeline of {len(exchanges)} exchanges</title>']
    for i, e in enumerate(exchanges):
        status = e.get("status") or 0
        fill = "#2f855a" if 200 <= status < 400 else "#dd6b20" if status in (0, 429) or status >= 500 else "#c53030"
        if e.get("outcome") == "refused":
            fill = "#1a202c"
        x = 10 + i * step
        ring = ' stroke="#e53e3e" stroke-width="3"' if e.get("faults") else ""
        label = f"#{e['id']} {e['method']} {e['host']}{e['path']} → {status or e.get('outcome')}"
        if e.get("faults"):
            label += " [fault: " + "; ".join(e["faults"]) + "]"
        parts.append(f'<rect x="{x:.1f}" y="8" width="{max(3.0, step - 4):.1f}" height="18" rx="3" fill="{fill}"{ring}>'
                     f"<title>{escape(label)}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)
