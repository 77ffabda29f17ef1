"""Encore's assistant: the public API, the turn pipeline, settings, the CLI and the UI."""

__version__ = "0.1.0"
