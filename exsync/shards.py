"""Splitting the accounts among hosts: `--shard I/N`.

Each account belongs to one of N shards by a stable hash of its name (SHA-256, the same on
every host, Python version and run), so N hosts given shards 1/N ... N/N sync every account
exactly once between them without talking to each other. The run lock still guards each
account: a host given the wrong shard, or two hosts given the same one, never sync one
account at the same time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of the account `name`."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(names: Iterable[str], index: int, count: int) -> list[str]:
    """The accounts of `names` that belong to shard `index` of `count`, in their order."""
    return [name for name in names if shard_of(name, count) == index]
