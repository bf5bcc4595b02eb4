"""Step 1, customers: signup times, countries and the latent traits the later steps act out.

Times are float days since the period start (``clock.T`` is the period's end); ``inf`` means never.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clock import Clock
from .common import BROWSER, BUS, DISG, DRIFT, GIFT, LOYAL, MIN_PER_DAY, REG, obj_str, pick
from .products import CAT_POP

_SEG_SHARES = np.array([0.48, 0.08, 0.12, 0.10, 0.09, 0.08, 0.05])
_COUNTRIES = np.array(["DE", "FR", "ES", "IT", "NL", "BE", "AT", "IE", "PT", "FI"], dtype=object)
_COUNTRY_P = np.array([0.28, 0.20, 0.12, 0.12, 0.10, 0.05, 0.05, 0.03, 0.03, 0.02])
# monthly multipliers of the acquisition rate (Jan..Dec)
_ACQ_SEASON = np.array([1.10, 0.90, 0.90, 0.90, 0.95, 0.90, 0.90, 0.90, 1.00, 1.05, 1.35, 1.30])
# per segment (SEGMENTS order): chance to be a reviewer, to have browsing events
_REVIEWER_P = np.array([0.38, 0.55, 0.45, 0.60, 0.38, 0.45, 0.0])
_HAS_EVENTS_P = np.array([0.66, 0.85, 0.75, 0.80, 0.70, 0.85, 1.0])


@dataclass
class Customers:
    """One entry per customer, in signup order: the ``customers`` columns and the hidden traits behind ``truth``."""

    ids: np.ndarray  # "C000042"
    width: int  # digits in an id
    acq: np.ndarray  # signup (acquisition) time
    seg: np.ndarray  # segment code (SEGMENTS order)
    country: np.ndarray
    lam: np.ndarray  # repeat-purchase rate per day
    spend: np.ndarray  # spend level (EUR per unit)
    fav1: np.ndarray  # favourite category
    fav2: np.ndarray  # second favourite category
    step: np.ndarray  # purchase-rate factor from `change` on (business)
    change: np.ndarray  # change point: bad order (disgruntled), step-up (business), drift start
    reveal: np.ndarray  # from when the texts show the segment
    rising: np.ndarray  # business customers whose step-up comes at `change`
    death: np.ndarray  # end of the purchasing lifetime
    shops_around: np.ndarray  # browses for alternatives before dropping out
    shop_from: np.ndarray  # start of that shopping-around window
    reviewer: np.ndarray
    has_events: np.ndarray
    ev_rate: np.ndarray  # background browsing rate per day
    browse_days: np.ndarray  # how long a browser (never orders) keeps browsing after signup


def customer_ids(n: int) -> tuple[np.ndarray, int]:
    """The ids "C000000".. in signup order, and their number of digits (at least 6)."""
    width = max(6, len(str(n - 1)))
    return np.array([f"C{i:0{width}d}" for i in range(n)], dtype=object), width


def draw_customers(rng: np.random.Generator, clock: Clock, n: int) -> Customers:
    """Draw n customers and their latent traits from ``rng`` (the customers' own generator)."""
    acq = _acquisition(rng, clock, n)
    seg = pick(rng, _SEG_SHARES, n)
    country = _COUNTRIES[pick(rng, _COUNTRY_P, n)]
    lam = rng.gamma(0.6, (1 / 100) / 0.6, n)  # repeat-purchase rate per day
    lam[seg == LOYAL] *= 2.0
    lam = np.minimum(lam, 0.25)
    lam[seg == BROWSER] = 0.0
    hazard = rng.gamma(1.0, 1 / 250, n)  # dropout hazard per day
    hazard[seg == LOYAL] *= 0.25
    hazard[seg == BUS] *= 0.4
    life = rng.exponential(1.0, n) / hazard
    spend = rng.lognormal(np.log(26.0), 0.5, n)  # spend level (EUR per unit)
    fav1 = pick(rng, CAT_POP, n)
    fav2 = pick(rng, CAT_POP, n)
    u1, u2, u3, u4 = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    e1, e2 = rng.exponential(1.0, n), rng.exponential(1.0, n)
    step, change, reveal, rising = _change_points(clock.T, acq, seg, u1, u2, u3, u4)
    death = _lifetimes(acq, seg, life, change, rising, u2, e1)
    # 60 % of the customers who drop out "naturally" shop around first: in the 20-60 days before
    # leaving they browse more and search for discounts and cheaper alternatives
    shops_around = np.isin(seg, [REG, BUS, GIFT, LOYAL]) & (rng.random(n) < 0.6) & (death < clock.T + 60)
    shop_from = np.where(shops_around, death - (20.0 + 40.0 * rng.random(n)), np.inf)
    reviewer = rng.random(n) < _REVIEWER_P[seg]
    has_events = rng.random(n) < _HAS_EVENTS_P[seg]
    ev_rate = rng.gamma(1.0, 0.035, n)
    ev_rate[seg == BROWSER] *= 1.5
    ev_rate[seg == BUS] *= 1.3
    ids, width = customer_ids(n)
    return Customers(
        ids=ids,
        width=width,
        acq=acq,
        seg=seg,
        country=country,
        lam=lam,
        spend=spend,
        fav1=fav1,
        fav2=fav2,
        step=step,
        change=change,
        reveal=reveal,
        rising=rising,
        death=death,
        shops_around=shops_around,
        shop_from=shop_from,
        reviewer=reviewer,
        has_events=has_events,
        ev_rate=ev_rate,
        browse_days=90.0 * e2,
    )


def _acquisition(rng: np.random.Generator, clock: Clock, n: int) -> np.ndarray:
    """Sorted signup times: staggered over the period, growing towards its end, Q4-heavy."""
    T = clock.T
    edges = np.minimum(np.arange(clock.n_days + 1, dtype=float), T)
    dens = (0.5 + (edges[:-1] + 0.5) / T) * _ACQ_SEASON[clock.day_month] * np.diff(edges)
    cdf = np.concatenate([[0.0], np.cumsum(dens)])
    acq = np.sort(np.interp(rng.random(n), cdf / cdf[-1], edges))
    return np.minimum(acq, T - 1.0 / MIN_PER_DAY)


def _change_points(
    T: float, acq: np.ndarray, seg: np.ndarray, u1: np.ndarray, u2: np.ndarray, u3: np.ndarray, u4: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(step, change, reveal, rising) per customer; demotes (in ``seg``) to regular the disgruntled and
    drifting customers who joined too late for their change to fit in the period."""
    n = len(seg)
    step = np.ones(n)
    change = np.full(n, np.inf)
    reveal = np.full(n, np.inf)
    # disgruntled: bad order at `change` in the last ~10 months (a customer for >= 10 days by then)
    lo, hi = np.maximum(acq + 10, T - 300), T - 3
    bad = (seg == DISG) & (lo >= hi)
    seg[bad] = REG
    m = seg == DISG
    change[m] = lo[m] + u1[m] * (hi - lo[m])
    # drifting: stops ~1 month after `change`, reveals itself 20-90 days before
    lo, hi = np.maximum(acq + 30, T - 300), T + 20
    seg[(seg == DRIFT) & (lo >= hi)] = REG
    m = seg == DRIFT
    change[m] = lo[m] + u1[m] * (hi - lo[m])
    reveal[m] = np.maximum(acq[m], change[m] - (20 + 70 * u2[m]))
    # business: 20 % established from acquisition, 80 % rising at `change` (revealed 45-150 days before)
    m = seg == BUS
    step[m] = 2.5 + 2.5 * u3[m]
    rising = m & (u4 < 0.8)
    est = m & ~rising
    change[est], reveal[est] = acq[est], acq[est]
    lo, hi = np.maximum(acq + 30, T - 240), T + 30
    change[rising] = lo[rising] + u1[rising] * (hi - lo[rising])
    reveal[rising] = np.maximum(acq[rising], change[rising] - (45 + 105 * u2[rising]))
    reveal[(seg == GIFT) | (seg == LOYAL)] = acq[(seg == GIFT) | (seg == LOYAL)]
    return step, change, reveal, rising


def _lifetimes(
    acq: np.ndarray,
    seg: np.ndarray,
    life: np.ndarray,
    change: np.ndarray,
    rising: np.ndarray,
    u2: np.ndarray,
    e1: np.ndarray,
) -> np.ndarray:
    """End of each customer's purchasing life (``death``)."""
    death = acq + life
    quits = np.zeros(len(seg), dtype=bool)
    m = seg == DISG
    quits[m] = u2[m] < 0.85
    death[m] = np.where(quits[m], change[m] + 2.0 + 20.0 * e1[m], change[m] + life[m])
    m = seg == DRIFT
    death[m] = change[m] + 30.0 * e1[m]
    death[rising] = change[rising] + life[rising]
    death[seg == BROWSER] = acq[seg == BROWSER]
    return death


def customers_frame(c: Customers, clock: Clock) -> pd.DataFrame:
    """The ``customers`` table."""
    return pd.DataFrame(
        {
            "customer_id": obj_str(c.ids),
            "signup_ts": clock.iso(clock.minutes(c.acq)),
            "country": obj_str(c.country),
        }
    )
