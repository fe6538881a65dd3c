"""omniws.sync.connect() lends its event loop to calling threads, which aiofastnet's
transports refuse: it always opens with asyncio's, whatever OMNIWS_TRANSPORT says."""

from __future__ import annotations

import ssl

import aiofastnet
import pytest

import omniws.sync
from omniws import ConfigError


def test_sync_connect_uses_the_asyncio_transport_over_tls(
    wss_server: str, client_ssl: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for wanted in ("", "fast"):
        monkeypatch.setenv("OMNIWS_TRANSPORT", wanted)
        with omniws.sync.connect(f"{wss_server}/echo", ssl=client_ssl, connect_timeout=5) as ws:
            assert not isinstance(ws._conn._transport, aiofastnet.Transport)
            ws.send("from the calling thread")
            assert ws.recv(timeout=5) == "from the calling thread"


def test_sync_connect_refuses_the_fast_transport() -> None:
    with pytest.raises(ConfigError, match=r"transport.*omniws\.sync\.connect.*'auto'"):
        omniws.sync.connect("wss://127.0.0.1:1/", transport="fast")
