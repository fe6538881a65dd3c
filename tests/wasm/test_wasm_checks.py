"""The platform-neutral parts of omniws.wasm and the heartbeat_message field, on CPython."""

from __future__ import annotations

import pytest

from omniws import ConfigError, WebSocketConfig, wasm
from omniws.errors import WebApiError

URL = "ws://127.0.0.1:1/"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"headers": {"Authorization": "Bearer x"}}, "headers"),
        ({"origin": "https://example.org"}, "origin"),
        ({"proxy": "http://127.0.0.1:3128"}, "proxy"),
    ],
)
def test_what_browsers_cannot_do_is_a_config_error(options: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        wasm.check_config(WebSocketConfig(url=URL, **options))  # type: ignore[arg-type]
    assert info.value.field == field


def test_headers_error_suggests_the_alternatives() -> None:
    with pytest.raises(ConfigError, match=r"subprotocol.*query"):
        wasm.check_config(WebSocketConfig(url=URL, headers={"X-Token": "t"}))


def test_defaults_are_fine_for_browsers() -> None:
    wasm.check_config(WebSocketConfig(url=URL))


@pytest.mark.parametrize("code", [1000, 3000, 4999])
def test_close_codes_browsers_allow(code: int) -> None:
    wasm.check_close(code, "r" * 123)


@pytest.mark.parametrize("code", [999, 1001, 1006, 1009, 1011, 2999, 5000])
def test_close_codes_browsers_refuse(code: int) -> None:
    with pytest.raises(ValueError, match="3000 to 4999"):
        wasm.check_close(code, "")


def test_close_reason_limit_is_in_utf8_bytes() -> None:
    wasm.check_close(1000, "\u2603" * 41)  # 123 bytes
    with pytest.raises(ValueError, match="123 UTF-8 bytes"):
        wasm.check_close(1000, "\u2603" * 42)


async def test_open_connection_needs_pyodide() -> None:
    with pytest.raises(WebApiError, match="Pyodide"):
        await wasm.open_connection(WebSocketConfig(url=URL))


@pytest.mark.parametrize("message", ["ping", b"\x00", ""])
def test_heartbeat_message_accepts_text_and_bytes(message: str | bytes) -> None:
    assert WebSocketConfig(url=URL, heartbeat_message=message).heartbeat_message == message


def test_heartbeat_message_bytearray_becomes_bytes() -> None:
    config = WebSocketConfig(url=URL, heartbeat_message=bytearray(b"hb"))  # type: ignore[arg-type]
    assert config.heartbeat_message == b"hb" and type(config.heartbeat_message) is bytes


@pytest.mark.parametrize("message", [1, {"op": "ping"}, ["ping"]])
def test_heartbeat_message_rejects_other_types(message: object) -> None:
    with pytest.raises(ConfigError) as info:
        WebSocketConfig(url=URL, heartbeat_message=message)  # type: ignore[arg-type]
    assert info.value.field == "heartbeat_message"
