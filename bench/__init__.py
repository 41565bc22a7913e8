"""The benchmark harness behind `make bench` (not a test).

    python -m bench --scale default|small

Runs every section against its own database on the server DATABASE_URL points
at, writes bench/results/latest.json and prints a table with each target's
PASS/FAIL and margin. docs/scaling.md explains the sections and the numbers.
"""
