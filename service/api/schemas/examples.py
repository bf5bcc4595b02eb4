"""The example customer id and model version that every model of the contract shows in /openapi.json."""

EXAMPLE_ID = "C000127"
EXAMPLE_VERSION = "2025-12-31-e236ca1b34"
