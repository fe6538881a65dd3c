"""omniws on trio: the runtime, the connection over trio streams, and how it opens.

Used by ``omniws.connect`` and ``omniws.WebSocketClient`` when they run under ``trio.run``
(``pip install 'omniws[trio]'``); importing omniws never imports trio."""
