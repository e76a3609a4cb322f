"""ccxt, imported one exchange class at a time.

`import ccxt.async_support` imports every one of ccxt's ~100 exchange classes, which is two
thirds of a warm `exsync sync` process's time and half of its memory; a pass needs one or
two of them. Before anything imports ccxt, this module stands in two light packages for
`ccxt` and `ccxt.async_support` that hold what ccxt's own modules import from them (its
error classes, `Exchange`, the precision constants), so that importing
`ccxt.async_support.bybit` loads that class and ccxt's base only. Any other attribute of
those packages runs the real package `__init__` on first use, so code that does need all of
ccxt still gets it. If this ccxt cannot be loaded that way, the full import is used.

Every exsync module reaches ccxt through here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import types
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PACKAGES = ("ccxt", "ccxt.async_support")


class _LightPackage(types.ModuleType):
    """A package module that runs its real `__init__` only when asked for a missing name."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_exsync_complete"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self._exsync_complete = True
        source = Path(self.__dict__["_exsync_init"])
        exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), self.__dict__)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _light(name: str, directory: str) -> _LightPackage:
    package = _LightPackage(name)
    package.__path__ = [directory]
    package.__package__ = name
    package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    package.__spec__.submodule_search_locations = [directory]
    package._exsync_init = str(Path(directory) / "__init__.py")
    return package


def _stand_in() -> None:
    """Put the light packages in place, unless ccxt is imported already."""
    if "ccxt" in sys.modules:
        return
    spec = importlib.util.find_spec("ccxt")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("ccxt is not installed")
    root = spec.submodule_search_locations[0]
    top = _light("ccxt", root)
    sub = _light("ccxt.async_support", str(Path(root) / "async_support"))
    sys.modules["ccxt"], sys.modules["ccxt.async_support"] = top, sub
    top.async_support = sub
    version = importlib.metadata.version("ccxt")
    errors = importlib.import_module("ccxt.base.errors")
    names: dict[str, Any] = {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    precision = importlib.import_module("ccxt.base.decimal_to_precision")
    names.update({k: v for k, v in vars(precision).items() if k.isupper()})
    names["decimal_to_precision"] = precision.decimal_to_precision
    names["Exchange"] = importlib.import_module("ccxt.base.exchange").Exchange
    for package in (top, sub):
        package.__dict__.update(names, __version__=version, errors=errors)


def _full() -> None:
    for name in [n for n in sys.modules if n == "ccxt" or n.startswith("ccxt.")]:
        del sys.modules[name]
    importlib.import_module("ccxt.async_support")


try:
    _stand_in()
    errors = importlib.import_module("ccxt.base.errors")
except Exception as exc:  # a ccxt laid out differently: import it whole
    log.debug("ccxt: light import failed (%s); importing all of it", exc)
    _full()
    errors = importlib.import_module("ccxt.base.errors")

#: ccxt's version, as installed
version: str = sys.modules["ccxt"].__version__


def exchange_class(ccxt_id: str) -> type[Any]:
    """ccxt's asyncio class of one exchange, importing that exchange only."""
    try:
        module = importlib.import_module(f"ccxt.async_support.{ccxt_id}")
        klass = getattr(module, ccxt_id)
        # As ccxt's own package does: `ccxt.async_support.bybit` is the class, not the
        # module the import just set there.
        setattr(sys.modules["ccxt.async_support"], ccxt_id, klass)
        return klass
    except (ImportError, AttributeError):
        if ccxt_id not in exchange_ids():
            raise LookupError(f"{ccxt_id!r} is not an exchange ccxt knows") from None
        _full()
        return getattr(importlib.import_module("ccxt.async_support"), ccxt_id)


def exchange_ids() -> list[str]:
    """Every exchange id ccxt's asyncio support has, without importing them."""
    directory = Path(sys.modules["ccxt.async_support"].__path__[0])
    return sorted(
        path.stem
        for path in directory.glob("*.py")
        if path.stem.isidentifier() and not path.stem.startswith("_")
    )
