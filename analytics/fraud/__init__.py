"""Fraud screening: readable, scored rules over the indexed events, alerts with evidence, review, backtests."""
