"""exsync's benchmark suite: `python -m benchmarks` prints every figure (see docs/performance.md).

Every figure is a ratio of two measurements taken in the same run, so a noisy machine
still gives comparable answers.
"""
