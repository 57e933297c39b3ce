"""Test plans, the checks they run, their timekeeping, and judging a stored run again (replay)."""
