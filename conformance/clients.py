"""The WebSocket clients the Autobahn harness can drive: omniws (under asyncio, and under
trio as ``omniws-trio``: the same code, run by ``trio.run``), websockets and aiohttp.

Each client is a pair of coroutines:

- ``fetch(url)``: open a connection, return the first text message (``None`` if the
  connection ends without one). Used for the fuzzing server's control paths
  (``/getCaseCount``, ``/getCaseInfo``, ``/updateReports``).
- ``echo(url)``: open a connection and send every data message back as it came, text as
  text and binary as binary, until the connection ends. An error ending the connection is
  normal in fuzzing: it is swallowed and returned as a short description (or ``None``).

Imports are lazy so that the harness runs with only the client it is asked for installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from conformance.runners import Runner


@dataclass(frozen=True)
class Client:
    name: str
    fetch: Callable[[str], Coroutine[Any, Any, str | None]]
    echo: Callable[[str], Coroutine[Any, Any, str | None]]
    version: Callable[[], str]
    runner: Runner = "asyncio"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _module_version(name: str) -> Callable[[], str]:
    def version() -> str:
        module = importlib.import_module(name)
        return str(getattr(module, "__version__", "unknown"))

    return version


# --- omniws ------------------------------------------------------------------------------------


async def _omniws_fetch(url: str) -> str | None:
    import omniws

    try:
        async with omniws.connect(url, compression=False) as ws:
            message = await ws.recv()
    except omniws.ConnectionClosed:
        return None
    return message if isinstance(message, str) else bytes(message).decode("utf-8")


async def _omniws_echo(url: str) -> str | None:
    import omniws

    try:
        async with omniws.connect(
            url, max_message_size=None, compression=True
        ) as ws:
            async for message in ws:
                await ws.send(message)
    except omniws.WebSocketError as exc:
        return _describe(exc)
    return None


# --- websockets --------------------------------------------------------------------------------


async def _websockets_fetch(url: str) -> str | None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    try:
        async with connect(url, compression=None, open_timeout=30) as ws:
            message = await ws.recv()
    except ConnectionClosed:
        return None
    return message if isinstance(message, str) else message.decode("utf-8")


async def _websockets_echo(url: str) -> str | None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    try:
        async with connect(
            url, max_size=None, compression="deflate", ping_interval=None, open_timeout=30
        ) as ws:
            async for message in ws:
                await ws.send(message)
    except (WebSocketException, OSError) as exc:
        return _describe(exc)
    return None


# --- aiohttp -----------------------------------------------------------------------------------


async def _aiohttp_fetch(url: str) -> str | None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            return str(message.data)
        if message.type == aiohttp.WSMsgType.BINARY:
            return bytes(message.data).decode("utf-8")
        return None


async def _aiohttp_echo(url: str) -> str | None:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, compress=15, max_msg_size=0, autoping=True) as ws,
        ):
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await ws.send_str(message.data)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    await ws.send_bytes(message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    return _describe(ws.exception() or RuntimeError("error message"))
                else:
                    break
    except (aiohttp.ClientError, OSError) as exc:
        return _describe(exc)
    return None


CLIENTS: dict[str, Client] = {
    "omniws": Client("omniws", _omniws_fetch, _omniws_echo, _module_version("omniws")),
    # omniws.connect under trio.run opens omniws.trio_io's connection (trio streams)
    "omniws-trio": Client(
        "omniws-trio", _omniws_fetch, _omniws_echo, _module_version("omniws"), runner="trio"
    ),
    "websockets": Client(
        "websockets", _websockets_fetch, _websockets_echo, _module_version("websockets")
    ),
    "aiohttp": Client("aiohttp", _aiohttp_fetch, _aiohttp_echo, _module_version("aiohttp")),
}
