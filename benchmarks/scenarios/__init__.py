"""One module per scenario; each has ``run(ctx) -> dict`` (see ``benchmarks.context``)."""
