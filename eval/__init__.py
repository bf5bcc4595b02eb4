"""Offline evaluation harness: dataset adapters, backtests, baselines, metrics, reports."""
