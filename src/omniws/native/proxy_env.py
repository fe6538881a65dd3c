"""Which proxy a connection uses: :mod:`omniws._proxy_env` (shared with trio)."""

from .._proxy_env import bypass, select_proxy

__all__ = ["bypass", "select_proxy"]
