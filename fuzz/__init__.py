"""Long fuzzing runs of omniws's parsers: ``python -m fuzz --seconds 600``.

Two engines share the time: hypothesis (the properties of tests/unit/test_fuzz_parsers.py,
run with the larger "fuzz" profile, round after round) and atheris (coverage-guided, the
byte-level targets in ``fuzz/atheris_targets.py``), when ``pip install atheris`` works.
Any failure is printed with its input; turn it into a regression test in
tests/unit/test_fuzz_parsers.py.
"""
