"""omniws on trio: the runtime, the connection over trio streams, and how it opens.

Used by ``omniws.connect`` and ``omniws.WebSocketClient`` when they run under ``trio.run``
(``pip install 'omniws[trio]'``); importing omniws never imports trio. ``opening`` connects
(``streams``: TCP, TLS and proxy tunnels) and hands the stream to a ``Connection``, whose
``writer`` is the one task at a time that writes it.
"""

from .connection import Connection
from .opening import open_connection

__all__ = ["Connection", "open_connection"]
