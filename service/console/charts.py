"""Server-rendered SVG charts for the console: no JavaScript, no external assets, readable without colour.

The drivers waterfall starts at the forecast of a typical customer (the model's baseline: the prediction minus
the sum of all driver contributions), steps through the largest drivers (green bar = adds, red hatched = takes
off, each labelled with its signed amount) and ends at the customer's forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

ROW = 30
LABEL_W = 190
VALUE_W = 96
BAR_W = 380
WIDTH = LABEL_W + BAR_W + VALUE_W + 24
POS, NEG, TOTAL = "#1a7f37", "#b42318", "#3d4f66"


@dataclass
class Step:
    label: str
    start: float
    end: float
    kind: str  # "total", "up", "down"

    @property
    def delta(self) -> float:
        return self.end - self.start


def waterfall_steps(predicted: float, drivers: list[dict], top: int = 6) -> list[Step]:
    """Baseline, the ``top`` drivers by size, the rest as one step, then the forecast."""
    total = sum(float(d.get("contribution") or 0.0) for d in drivers)
    base = predicted - total
    ranked = sorted(drivers, key=lambda d: -abs(float(d.get("contribution") or 0.0)))
    shown, rest = ranked[:top], ranked[top:]
    steps = [Step("typical customer", 0.0, base, "total")]
    run = base
    for d in shown:
        c = float(d.get("contribution") or 0.0)
        steps.append(Step(str(d.get("name")), run, run + c, "up" if c >= 0 else "down"))
        run += c
    other = sum(float(d.get("contribution") or 0.0) for d in rest)
    if rest and abs(other) >= 0.005:
        steps.append(Step(f"{len(rest)} other drivers", run, run + other, "up" if other >= 0 else "down"))
        run += other
    steps.append(Step("this customer's forecast", 0.0, predicted, "total"))
    return steps


def _money(x: float, currency: str) -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}{currency}{abs(x):,.2f}"


def waterfall_svg(
    predicted: float, drivers: list[dict], currency: str = "$", horizon_days: int = 90, top: int = 6
) -> str:
    steps = waterfall_steps(predicted, drivers, top)
    lo = min(0.0, *(min(s.start, s.end) for s in steps))
    hi = max(0.0, *(max(s.start, s.end) for s in steps))
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return LABEL_W + (v - lo) / span * BAR_W

    height = ROW * len(steps) + 34
    desc = "; ".join(
        f"{s.label}: {_money(s.end, currency)}"
        if s.kind == "total"
        else f"{s.label} {'adds' if s.delta >= 0 else 'takes off'} {_money(abs(s.delta), currency)}"
        for s in steps
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="wf-title wf-desc" class="waterfall">',
        f'<title id="wf-title">How the drivers add up to the {horizon_days}-day forecast</title>',
        f'<desc id="wf-desc">{escape(desc)}</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{NEG}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" '
        'stroke-width="2"/></pattern></defs>',
    ]
    zero = x(0.0)
    out.append(f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{height - 26}" stroke="#8a94a6" stroke-width="1"/>')
    for i, s in enumerate(steps):
        y = 6 + i * ROW
        a, b = sorted((x(s.start), x(s.end)))
        w = max(b - a, 1.5)
        fill = TOTAL if s.kind == "total" else POS if s.kind == "up" else "url(#hatch)"
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" class="wf-label">{escape(s.label)}</text>')
        out.append(f'<rect x="{a:.1f}" y="{y + 4}" width="{w:.1f}" height="{ROW - 10}" fill="{fill}" rx="2"/>')
        if i + 1 < len(steps) and s.kind != "total" or i == 0:
            nxt = x(s.end)
            out.append(
                f'<line x1="{nxt:.1f}" y1="{y + ROW - 6}" x2="{nxt:.1f}" y2="{y + ROW + 4}" stroke="#8a94a6" '
                'stroke-dasharray="2 2"/>'
            )
        amount = (
            _money(s.end, currency)
            if s.kind == "total"
            else ("+" if s.delta >= 0 else "-") + _money(abs(s.delta), currency)
        )
        out.append(f'<text x="{LABEL_W + BAR_W + 12}" y="{y + 18}" class="wf-value">{escape(amount)}</text>')
    out.append(f'<text x="{LABEL_W}" y="{height - 8}" class="wf-axis">{escape(_money(lo, currency))}</text>')
    out.append(
        f'<text x="{LABEL_W + BAR_W}" y="{height - 8}" text-anchor="end" '
        f'class="wf-axis">{escape(_money(hi, currency))}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
