"""exsync: a local SQLite mirror of crypto-exchange account and market data."""

__version__ = "0.1.0"
