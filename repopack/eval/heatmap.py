"""A size × depth heat map of needle accuracy as a standalone SVG (no plotting dependency)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from repopack.eval.needle import NeedleReport
from repopack.util.fmt import format_tokens

CELL_W, CELL_H = 96, 44
MIN_WIDTH = 600  # room for the title and the footnotes beside a narrow grid
LEFT, TOP, BOTTOM, RIGHT = 92, 78, 70, 24
_RED, _YELLOW, _GREEN = (215, 48, 39), (254, 224, 139), (26, 152, 80)


def accuracy_colour(accuracy: float) -> str:
    """Red at 0, yellow at 0.5, green at 1."""
    a = min(1.0, max(0.0, accuracy))
    lo, hi, t = (_RED, _YELLOW, a * 2) if a < 0.5 else (_YELLOW, _GREEN, (a - 0.5) * 2)
    r, g, b = (round(x + (y - x) * t) for x, y in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def needle_svg(report: NeedleReport) -> str:
    sizes, depths = report.plan.sizes, report.plan.depths
    width = max(MIN_WIDTH, LEFT + CELL_W * len(depths) + RIGHT)
    height = TOP + CELL_H * len(sizes) + BOTTOM
    title = f"Needle retrieval: {report.model} ({report.plan.trials} trial{'s' if report.plan.trials != 1 else ''}" \
            f" per cell)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="{TOP - 30}" font-size="12">'
        "depth of the needle in the context (0 = start)</text>",
        f'<text x="16" y="{TOP + CELL_H * len(sizes) / 2:g}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + CELL_H * len(sizes) / 2:g})">context size (tokens)</text>',
    ]
    for j, depth in enumerate(depths):
        x = LEFT + CELL_W * j + CELL_W / 2
        out.append(f'<text x="{x:g}" y="{TOP - 8}" font-size="12" text-anchor="middle">{depth:g}</text>')
    short = False
    for i, size in enumerate(sizes):
        y = TOP + CELL_H * i
        mark = "" if report.reached(size) else "*"
        short = short or bool(mark)
        out.append(f'<text x="{LEFT - 8}" y="{y + CELL_H / 2 + 4:g}" font-size="12" text-anchor="end">'
                   f"{format_tokens(size)}{mark}</text>")
        for j, depth in enumerate(depths):
            cell = report.cell(size, depth)
            x = LEFT + CELL_W * j
            out.append(f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" '
                       f'fill="{accuracy_colour(cell.accuracy)}" stroke="#ffffff" stroke-width="2">'
                       f"<title>{format_tokens(size)} at depth {depth:g}: {cell.found}/{cell.trials} found, "
                       f"{cell.mean_latency_s:.2f}s</title></rect>")
            out.append(f'<text x="{x + CELL_W / 2:g}" y="{y + CELL_H / 2 + 1:g}" font-size="13" '
                       f'text-anchor="middle">{cell.accuracy:.0%}</text>')
            out.append(f'<text x="{x + CELL_W / 2:g}" y="{y + CELL_H / 2 + 15:g}" font-size="10" '
                       f'text-anchor="middle" fill="#333333">{cell.mean_latency_s:.2f}s</text>')
    foot = TOP + CELL_H * len(sizes) + 22
    effective = report.effective_tokens
    label = format_tokens(effective) if effective else f"below {format_tokens(min(sizes))}"
    out.append(f'<text x="{LEFT}" y="{foot}" font-size="12">effective context (≥ {report.plan.threshold:.0%} at '
               f"every depth): {escape(label)}</text>")
    if short:
        out.append(f'<text x="{LEFT}" y="{foot + 18}" font-size="11" fill="#555555">* the repository is smaller '
                   "than this size: the context is the whole repository</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
