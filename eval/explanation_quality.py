"""Explanation quality per narrator: faithfulness pass rate, coverage of the top SHAP drivers, length, latency.

    insight eval-explanations --store profiles.db --n 50

For a sample of stored customers (spread evenly over the store, so every tier appears), each narrator
explains every customer through the same narrate -> check -> retry -> fallback flow the CLI and the API use
(without the explanation cache). Reported per narrator:

- ``pass_rate``: share of customers whose returned narrative is the narrator's own and passed the check
  (after at most one retry); ``first_pass_rate``: passed on the first attempt; ``fallback_rate``.
- ``driver_coverage``: share of each customer's top-k SHAP drivers (by absolute contribution) named in the
  narrator's own final narrative (the rejected one for a fallback), averaged.
- ``mean_words`` / ``mean_chars`` of the narrator's own final narrative.
- ``latency_p50_ms`` / ``latency_p95_ms``: narration time per customer, check and retry included.
- ``top_reasons``: the most frequent failure reasons, with numbers and quotes blanked.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from service.explain import Facts, Narrator, facts_from_profile, narrate_checked
from service.store import ProfileStore


def sample_facts(store: str | Path, n: int) -> list[Facts]:
    """``n`` customers spread evenly over the store ordered by predicted value (all tiers represented)."""
    import sqlalchemy as sa

    from service.store import profiles

    ps = ProfileStore(store)
    try:
        meta = ps.meta()
        with ps.engine.connect() as con:
            ids = [
                r[0]
                for r in con.execute(
                    sa.select(profiles.c.customer_id).order_by(
                        profiles.c.predicted_value.desc(), profiles.c.customer_id
                    )
                )
            ]
        if not ids:
            return []
        pick = sorted({int(i) for i in np.linspace(0, len(ids) - 1, min(n, len(ids)))})
        out = []
        for i in pick:
            rec = ps.get(ids[i])
            assert rec is not None  # an id just read from the same store
            out.append(facts_from_profile(rec, meta))
        return out
    finally:
        ps.close()


def _named(narrative: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", narrative, re.I) is not None


def _reason_kind(reason: str) -> str:
    r = re.sub(r"^attempt \d+: ", "", reason)
    r = re.sub(r"\u201c[^\u201d]*\u201d", "\u201c\u2026\u201d", r)
    r = re.sub(r"'[^']*'", "'\u2026'", r)
    return re.sub(r"[-+$]?\d[\d,.]*", "#", r)[:120]


def evaluate_narrators(
    store, narrators: dict[str, Narrator], n: int = 50, top_k: int = 3, facts: list[Facts] | None = None
) -> dict:
    """Quality of each narrator on the same ``n`` customers of ``store``; a dict per narrator name."""
    facts = facts if facts is not None else sample_facts(store, n)
    report: dict[str, dict] = {}
    for label, narrator in narrators.items():
        passed = first = fallback = retried = 0
        coverage, words, chars, latency = [], [], [], []
        reasons: Counter = Counter()
        for f in facts:
            out = narrate_checked(f, narrator)
            own = out.attempts[-1].draft.narrative
            passed += int(out.check.passed and not out.fallback)
            first += int(out.attempts[0].check.passed)
            fallback += int(out.fallback)
            retried += int(len(out.attempts) > 1)
            top = sorted(f.drivers, key=lambda d: -abs(d.contribution))[:top_k]
            coverage.append(sum(_named(own, d.name) for d in top) / len(top) if top else 1.0)
            words.append(len(own.split()))
            chars.append(len(own))
            latency.append(out.seconds * 1000)
            for a in out.attempts:
                reasons.update({_reason_kind(r) for r in a.check.reasons})
        k = max(len(facts), 1)
        report[label] = {
            "narrator": narrator.name,
            "customers": len(facts),
            "pass_rate": passed / k,
            "first_pass_rate": first / k,
            "retry_rate": retried / k,
            "fallback_rate": fallback / k,
            "driver_coverage": float(np.mean(coverage)) if coverage else float("nan"),
            "mean_words": float(np.mean(words)) if words else float("nan"),
            "mean_chars": float(np.mean(chars)) if chars else float("nan"),
            "latency_p50_ms": float(np.percentile(latency, 50)) if latency else float("nan"),
            "latency_p95_ms": float(np.percentile(latency, 95)) if latency else float("nan"),
            "prompt_version": getattr(narrator, "prompt_version", None),
            "top_reasons": reasons.most_common(5),
        }
    return report


__all__ = ["evaluate_narrators", "sample_facts"]
