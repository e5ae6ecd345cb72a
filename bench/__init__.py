"""Benchmarks of the datalayer (not tests): ``python -m bench`` / ``make bench``.

Results are written as JSON plus a markdown table to ``bench/results/``.
"""
