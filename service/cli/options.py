"""Option helpers shared by the `insight` commands: the --dask help, the parser of --tier-shares and --tier-amounts."""

from __future__ import annotations

DASK_HELP = (
    "Run the per-customer work (features, embeddings, predictions, SHAP) on Dask and train with xgboost.dask. "
    "SPEC: local:N (N local worker processes, stopped at the end) or a running scheduler's address "
    "(tcp://HOST:PORT or HOST:PORT). Default: everything in this process."
)


def parse_shares(spec: str | None) -> dict | None:
    """'VIP=0.05,High=0.15,Medium=0.3' -> dict."""
    if not spec:
        return None
    try:
        pairs = [(k.strip(), float(v)) for k, v in (p.split("=") for p in spec.split(","))]
    except ValueError:
        raise ValueError(f"cannot parse {spec!r}: expected VIP=...,High=...,Medium=...") from None
    names = [k for k, _ in pairs]
    if len(set(names)) < len(names):  # 'VIP=0.05,...,VIP=0.2' would silently keep the last
        raise ValueError(f"cannot parse {spec!r}: {sorted({k for k in names if names.count(k) > 1})} given twice")
    return dict(pairs)


def check_currency(currency: str) -> None:
    """A symbol or code ("$", "EUR", "CHF"): the explanations print amounts after it, and one with digits or spaces
    ("USD 100") made every narrative fail its own faithfulness check."""
    if not (1 <= len(currency) <= 4) or any(c.isdigit() or c.isspace() for c in currency) or not currency.isprintable():
        raise ValueError(f"--currency {currency[:40]!r}: give a symbol or code of 1-4 characters without digits")
