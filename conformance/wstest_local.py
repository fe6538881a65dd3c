# -*- coding: utf-8 -*-
# ruff: noqa: UP009, UP010  (this file runs under Python 2.7)
"""Run ``wstest`` (Autobahn testsuite, Python 2.7) so that it listens on 127.0.0.1 only.

The testsuite's old Twisted binds every listening socket to all interfaces unless an
interface is given. This wrapper patches ``reactor.listenTCP`` so a call without an
``interface`` argument binds to 127.0.0.1, then hands over to ``wstest``'s own ``run()``.

Usage (with the Python 2.7 environment from scripts/setup-autobahn.sh):
    .cache/autobahn/py27/bin/python conformance/wstest_local.py -m fuzzingserver -s spec.json -u 0

This file must stay valid Python 2.7 (it runs inside the testsuite's environment).
"""

from __future__ import print_function

import os
import sys

LOCAL_INTERFACE = os.environ.get("OMNIWS_WSTEST_INTERFACE", "127.0.0.1")


def _patch_reactor():
    from twisted.internet import reactor

    original_listen_tcp = reactor.listenTCP

    def listen_tcp_local(port, factory, backlog=50, interface=""):
        if not interface:
            interface = LOCAL_INTERFACE
        return original_listen_tcp(port, factory, backlog=backlog, interface=interface)

    reactor.listenTCP = listen_tcp_local


def main():
    # Python puts this script's folder first on sys.path, and conformance/autobahn.py would
    # then shadow the real ``autobahn`` package: drop that entry.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    _patch_reactor()
    from autobahntestsuite import wstest

    sys.argv[0] = "wstest"
    return wstest.run()


if __name__ == "__main__":
    sys.exit(main())
