"""What an adapter returns: the validated tables of one dataset (``Dataset``) and its default backtest split
(``DatasetDefaults``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.tables import LoadedData


@dataclass
class DatasetDefaults:
    cutoff: str | None  # ISO date; None: last order minus the horizon
    horizon_days: int
    train_horizon_days: int | None = None  # None: the horizon itself when two horizons of history fit
    note: str = ""


@dataclass
class Dataset:
    """Clean tables plus what the adapter and the validation left out, and the dataset's defaults."""

    name: str
    loaded: LoadedData
    defaults: DatasetDefaults
    source: str
    currency: str = "$"
    dropped: dict[str, int] = field(default_factory=dict)  # adapter-level exclusions, by reason
    notes: list[str] = field(default_factory=list)

    @property
    def text_sources(self) -> tuple[str, ...]:
        t = self.loaded.tables
        return tuple(s for s, name in (("review", "reviews"), ("browse", "events")) if len(t[name]))

    def reject_reasons(self) -> dict[str, dict[str, int]]:
        """Contract rejects per table and reason."""
        out = {}
        for name, rej in self.loaded.rejects.items():
            if len(rej):
                out[name] = {str(k): int(v) for k, v in rej["_reason"].value_counts().items()}
        return out

    def summary(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "tables": self.loaded.summary(),
            "rejects": self.reject_reasons(),
            "adapter_dropped": dict(self.dropped),
            "text_sources": list(self.text_sources),
            "notes": list(self.notes),
            "currency": self.currency,
        }
