"""Offline evaluation: metrics, splits and protocols, baselines, suites and reports."""
