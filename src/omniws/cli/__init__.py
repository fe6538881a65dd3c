"""The ``omniws`` command (also ``python -m omniws``): talk to a WebSocket server from a
terminal or a script, on :class:`~omniws.WebSocketClient`.

``omniws URL`` sends each line typed (or piped) as a text message and prints what arrives;
``omniws demo`` does the same against an embedded echo server on 127.0.0.1, and
``omniws demo --chaos`` makes that server drop connections now and then, to watch the client
reconnect. ``omniws serve`` runs that echo server alone, until Ctrl-C or SIGTERM.

The parts: ``args`` (the command line), ``options`` (from it to a WebSocketConfig), ``input``
(standard input without blocking), ``output`` (what is printed), ``session`` (one run of the
client), ``signals`` (Ctrl-C and SIGTERM), ``demo_server`` (the embedded echo server),
``serve`` (``omniws serve``) and ``command`` (``main``, which ties them together). They use
omniws's public API only.
"""

from .command import main

__all__ = ["main"]
