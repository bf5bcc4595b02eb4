"""The agent playbook (``prompts/playbook.toml``, or the file named by ``INSIGHT_PLAYBOOK``): churn-risk bands and,
per tier and band, the next action and the discount advice. Kept as a file so the business can edit it."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.tiers import TIER_ORDER

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "prompts" / "playbook.toml"
ENV = "INSIGHT_PLAYBOOK"
BANDS = ("low", "medium", "high")


class PlaybookError(ValueError):
    """The playbook file is missing an entry or has invalid bands."""


@dataclass(frozen=True)
class Play:
    action: str
    offer: str


@dataclass(frozen=True)
class Playbook:
    medium: float
    high: float
    plays: dict[tuple[str, str], Play]
    source: str

    def band(self, churn_probability: float) -> str:
        """'low', 'medium' or 'high' churn risk."""
        if churn_probability >= self.high:
            return "high"
        if churn_probability >= self.medium:
            return "medium"
        return "low"

    def play(self, tier: str, churn_probability: float) -> Play:
        return self.plays[(tier, self.band(churn_probability))]

    def band_range(self, band: str) -> tuple[float, float]:
        """[lo, hi) of churn probability for a band."""
        return {"low": (0.0, self.medium), "medium": (self.medium, self.high), "high": (self.high, 1.0000001)}[band]


def load_playbook(path: str | Path | None = None) -> Playbook:
    path = Path(path or os.environ.get(ENV) or DEFAULT_PATH)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"{path}: cannot read the playbook ({exc}; set by {ENV} or the default)") from exc
    bands = data.get("churn_bands") or {}
    try:
        medium, high = float(bands["medium"]), float(bands["high"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlaybookError(f"{path}: [churn_bands] needs numbers `medium` and `high`") from exc
    if not 0 < medium < high < 1:
        raise PlaybookError(f"{path}: churn bands must satisfy 0 < medium < high < 1 (got {medium}, {high})")
    plays = {}
    for tier in TIER_ORDER:
        section = data.get(tier) or {}
        if not isinstance(section, dict):
            raise PlaybookError(f"{path}: [{tier}] must be a table of churn bands (low, medium, high)")
        for band in BANDS:
            entry = section.get(band) or {}
            if not isinstance(entry, dict):
                raise PlaybookError(f"{path}: [{tier}.{band}] must be a table with an `action` and an `offer`")
            if not (isinstance(entry.get("action"), str) and entry["action"].strip()) or not (
                isinstance(entry.get("offer"), str) and entry["offer"].strip()
            ):
                raise PlaybookError(f"{path}: [{tier}.{band}] needs an `action` and an `offer`, each a text")
            plays[(tier, band)] = Play(str(entry["action"]).strip(), str(entry["offer"]).strip())
    return Playbook(medium, high, plays, str(path))


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Playbook:
    return load_playbook(path)


def get_playbook() -> Playbook:
    """The playbook in force (re-read when the file changes)."""
    path = Path(os.environ.get(ENV) or DEFAULT_PATH)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot read the playbook ({exc})") from exc
    return _cached(str(path), mtime)
