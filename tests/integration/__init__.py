"""Integration tests: omniws against real servers on loopback (see conftest.py)."""
