"""How the evaluation report and the README tables write a number: fixed decimals, ``mean ± sd``, an interval
``estimate ± sd [low, high]``, money, and a markdown table. Missing or non-finite figures read ``n/a``.
"""

from __future__ import annotations

import math


def fmt_num(x, nd=3) -> str:
    """``x`` with ``nd`` decimals; ``n/a`` for None, NaN or inf."""
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def fmt_ci(iv: dict | None, nd=3) -> str:
    """``estimate ± sd [low, high]`` (the sd over seeds only where there are several)."""
    if not iv:
        return "n/a"
    sd = iv.get("sd")
    head = fmt_num(iv.get("estimate"), nd) + (f" ± {fmt_num(sd, nd)}" if sd is not None and math.isfinite(sd) else "")
    if iv.get("low") is None:
        return head
    return f"{head} [{fmt_num(iv['low'], nd)}, {fmt_num(iv['high'], nd)}]"


def fmt_pm(mean, sd, nd=3) -> str:
    """``mean ± sd``, or the mean alone where the sd is missing or not finite."""
    if mean is None:
        return "n/a"
    return fmt_num(mean, nd) + (
        f" ± {fmt_num(sd, nd)}" if sd is not None and isinstance(sd, (int, float)) and math.isfinite(sd) else ""
    )


def fmt_money(x, cur) -> str:
    return "n/a" if x is None else f"{cur}{x:,.2f}"


def md_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A markdown table; ``align`` one letter per column, ``l`` or ``r`` (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
