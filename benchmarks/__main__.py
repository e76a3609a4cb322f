"""`python -m benchmarks [--quick] [--only NAME ...]`: print every figure."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from benchmarks.figures import FIGURES
from benchmarks.harness import workdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), help="only these figures")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    names = args.only or list(FIGURES)
    with workdir() as tmp:
        for name in names:
            started = time.perf_counter()
            rows = FIGURES[name](Path(tmp), args.quick)
            print(f"\n## {name} ({time.perf_counter() - started:.0f} s)")
            width = max(len(r[0]) for r in rows)
            for label, value, remark in rows:
                print(f"{label:<{width}}  {value:<40} {remark}".rstrip())


if __name__ == "__main__":
    main()
