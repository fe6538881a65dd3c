"""Moved to :mod:`omniws.cli.demo_server`; this alias stays until examples/browser/serve.py and
tests/test_readme.py import it from there."""

from .cli.demo_server import EchoServer, chaos, start_echo_server

__all__ = ["EchoServer", "chaos", "start_echo_server"]
