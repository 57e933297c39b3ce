"""``hilbench serve``: the lab's view of its results store in a browser - runs in progress, history, a figure
across runs.  Read-only; loopback by default; a token for a lab network (docs/store.md)."""
