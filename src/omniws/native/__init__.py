"""The CPython platform: asyncio transports, TLS, and the opening handshake.

``opening`` connects and hands the transport to a ``Connection``, which drives the sans-I/O
core for the rest of the connection's life. The opening uses ``tcp`` (one TCP + TLS opener
for servers and proxies), ``omniws._proxy_env`` (which proxy, NO_PROXY), ``proxy`` (HTTP CONNECT
and SOCKS5, whose steps are in ``omniws._tunnel_steps``) and ``tunnel`` (the byte stream
to a proxy while it sets up the tunnel); ``transport`` picks asyncio's or aiofastnet's code
for TCP and TLS. What does no I/O is shared with trio (``omniws._opening``).
"""

from .connection import Connection
from .opening import open_connection
from .transport import active_transport

__all__ = ["Connection", "active_transport", "open_connection"]
