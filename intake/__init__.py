"""Core of the 福祉総合相談 intake service: settings, app factory, stores, database, CLI."""

__version__ = "0.1.0"
