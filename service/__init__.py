"""customer-insight application layer: data contracts, features, models, tiers, explanations, store, API, CLI."""

__version__ = "0.1.0"
