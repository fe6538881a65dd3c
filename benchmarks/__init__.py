"""Side-by-side benchmarks of omniws and other Python WebSocket clients: ``python -m benchmarks``.

See docs/BENCHMARKS.md.
"""
