"""A small SVG writer for the benchmark page's charts: grouped horizontal bars and lines over runs.

Plain SVG text, no plotting library: each chart is a function of its figures, so the page can be drawn
again from bench/history/ at any time. Values may be drawn on a log scale, as the peers' figures span
several powers of ten.
"""

import math
from xml.sax.saxutils import escape

FONT = "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""
GRID = "#dee2e6"
TEXT = "#212529"
MUTED = "#6c757d"


def _number(value):
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _scale(values, log):
    """(low, high, ticks) covering `values`: powers of ten on a log scale, round steps on a linear one."""
    positive = [v for v in values if v and v > 0]
    if not positive:
        return 0.0, 1.0, [0.0, 1.0]
    if log:
        low = 10 ** math.floor(math.log10(min(positive)))
        high = 10 ** math.ceil(math.log10(max(positive)))
        if high == low:
            high = low * 10
        ticks = [10 ** e for e in range(round(math.log10(low)), round(math.log10(high)) + 1)]
        return low, high, ticks
    top = max(positive)
    step = 10 ** math.floor(math.log10(top))
    for factor in (1, 2, 5, 10):
        if top / (step * factor) <= 6:
            step *= factor
            break
    high = step * math.ceil(top / step)
    return 0.0, high, [step * i for i in range(int(round(high / step)) + 1)]


def _position(value, low, high, log, width):
    if log:
        value = max(value, low)
        return width * (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return width * (value - low) / (high - low)


def _tick_label(value, unit):
    if value >= 1_000_000 and value % 1_000_000 == 0:
        text = f"{value / 1_000_000:.0f}M"
    elif value >= 1000 and value % 1000 == 0:
        text = f"{value / 1000:.0f}k"
    else:
        text = f"{value:g}"
    return f"{text}{unit}"


def _legend(series, x, y):
    parts, at = [], x
    for name, color in series:
        parts.append(f'<rect x="{at}" y="{y - 10}" width="12" height="12" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{at + 16}" y="{y}" font-size="12" fill="{TEXT}">{escape(name)}</text>')
        at += 16 + 7 * len(name) + 18
    return parts


def bars(title, note, groups, series, unit="", log=True, label_width=220, plot_width=520):
    """Grouped horizontal bars. `groups`: [(label, {series name: value or None})]; `series`: [(name, colour)],
    the order the bars take in each group and the legend's. A missing value draws no bar."""
    bar, gap, group_gap = 14, 3, 14
    top = 70
    values = [v for _, row in groups for v in row.values() if v]
    low, high, ticks = _scale(values, log)
    height = top
    for _, row in groups:
        shown = [name for name, _ in series if row.get(name)]
        height += max(len(shown), 1) * (bar + gap) + group_gap
    width = label_width + plot_width + 110
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
           f'viewBox="0 0 {width} {height + 30}" {FONT}>',
           f'<rect width="{width}" height="{height + 30}" fill="#ffffff"/>',
           f'<text x="12" y="22" font-size="15" font-weight="600" fill="{TEXT}">{escape(title)}</text>',
           f'<text x="12" y="40" font-size="11" fill="{MUTED}">{escape(note)}</text>']
    out += _legend(series, 12, 60)
    for tick in ticks:
        x = label_width + _position(tick, low, high, log, plot_width)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height}" stroke="{GRID}"/>')
        out.append(f'<text x="{x:.1f}" y="{height + 16}" font-size="11" fill="{MUTED}" '
                   f'text-anchor="middle">{escape(_tick_label(tick, unit))}</text>')
    y = top
    for label, row in groups:
        shown = [(name, color) for name, color in series if row.get(name)]
        block = max(len(shown), 1) * (bar + gap)
        out.append(f'<text x="{label_width - 10}" y="{y + block / 2 + 4:.1f}" font-size="12" fill="{TEXT}" '
                   f'text-anchor="end">{escape(label)}</text>')
        if not shown:
            out.append(f'<text x="{label_width + 4}" y="{y + bar - 3}" font-size="11" fill="{MUTED}">no figure</text>')
        for name, color in shown:
            value = row[name]
            length = max(_position(value, low, high, log, plot_width), 1.5)
            out.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" rx="2" fill="{color}">'
                       f'<title>{escape(name)}: {escape(_number(value))}{escape(unit)}</title></rect>')
            out.append(f'<text x="{label_width + length + 4:.1f}" y="{y + bar - 3}" font-size="11" '
                       f'fill="{TEXT}">{escape(_number(value))}{escape(unit)}</text>')
            y += bar + gap
        if not shown:
            y += bar + gap
        y += group_gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def lines(title, note, labels, series, unit="", log=True, reference=None, width=760, height=320):
    """Values over runs: `labels` along the bottom, `series` [(name, colour, [value or None per label])];
    `reference` (value, text) draws a dashed line, such as a target."""
    left, right, top, bottom = 70, 200, 70, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, _, row in series for v in row if v]
    if reference:
        values.append(reference[0])
    low, high, ticks = _scale(values, log)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'{FONT}>', f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="12" y="22" font-size="15" font-weight="600" fill="{TEXT}">{escape(title)}</text>',
           f'<text x="12" y="40" font-size="11" fill="{MUTED}">{escape(note)}</text>']

    def y_of(value):
        return top + plot_h - _position(value, low, high, log, plot_h)

    def x_of(i):
        return left + (plot_w * i / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}" '
                   f'text-anchor="end">{escape(_tick_label(tick, unit))}</text>')
    for i, label in enumerate(labels):
        out.append(f'<text x="{x_of(i):.1f}" y="{top + plot_h + 18}" font-size="11" fill="{MUTED}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    if reference:
        y = y_of(reference[0])
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{TEXT}" '
                   f'stroke-dasharray="5,4"/>')
        out.append(f'<text x="{left + 4}" y="{y - 5:.1f}" font-size="11" fill="{TEXT}">{escape(reference[1])}</text>')
    for index, (name, color, row) in enumerate(series):
        points = [(x_of(i), y_of(v)) for i, v in enumerate(row) if v]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
        legend_y = top + 14 * index
        out.append(f'<rect x="{left + plot_w + 6}" y="{legend_y + 20}" width="10" height="10" rx="2" fill="{color}"/>')
        out.append(f'<text x="{left + plot_w + 20}" y="{legend_y + 29}" font-size="11" fill="{TEXT}">'
                   f'{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
