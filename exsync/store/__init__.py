"""The database: every module that speaks SQL, side by side.

`Store` is the one interface the rest of exsync uses; `schema` declares every table,
`migrations` the numbered steps that build and upgrade them; `breaker`, `lock` and
`housekeeping` keep their state in it.
"""

from exsync.store.core import BUSY_TIMEOUT, Store
from exsync.store.values import EXACT, to_json, utc_now, utc_now_minus, where

__all__ = ["BUSY_TIMEOUT", "EXACT", "Store", "to_json", "utc_now", "utc_now_minus", "where"]
