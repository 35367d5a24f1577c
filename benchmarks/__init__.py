"""Benchmarks: they print figures and ratios; they never fail on speed."""
