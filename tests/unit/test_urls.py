"""WebSocket and proxy URLs: every invalid one is a ConfigError naming the problem and the fix."""

from __future__ import annotations

import pytest

import omniws
from omniws import ConfigError, WebSocketConfig
from omniws._urls import parse_proxy_url, parse_url
from omniws.protocol.uri import Endpoint

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://h/", Endpoint(False, "h", 80, "/")),
        ("wss://h", Endpoint(True, "h", 443, "/")),
        ("WSS://H:8443/a?b=1", Endpoint(True, "h", 8443, "/a?b=1")),
        ("ws://[::1]:9/x", Endpoint(False, "::1", 9, "/x")),
        ("ws://h:1/", Endpoint(False, "h", 1, "/")),
        ("ws://h:65535/", Endpoint(False, "h", 65535, "/")),
    ],
)
def test_valid_urls(url: str, expected: Endpoint) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("ws://h:0/", "default (80 for ws://"),
        ("wss://h:0/", "443 for wss://"),
        ("ws://[::1]:0/", "give the real port"),
        ("ws://h:00/", "port 0"),
    ],
)
def test_port_zero_is_refused_not_turned_into_the_default(url: str, fix: str) -> None:
    with pytest.raises(ConfigError, match="port 0") as info:
        WebSocketConfig(url=url)
    assert fix in str(info.value) and info.value.field == "url"
    with pytest.raises(ConfigError, match="port 0"):
        omniws.connect(url)


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("http://u:" + SECRET + "@proxy:0", "80 for http://"),
        ("socks5://proxy:0", "1080 for socks5://"),
        ("https://[::1]:0", "443 for https://"),
        ("proxy:0", "give the real port"),
    ],
)
def test_proxy_port_zero_is_refused(url: str, fix: str) -> None:
    with pytest.raises(ConfigError, match="port 0") as info:
        WebSocketConfig(url="ws://h/", proxy=url)
    message = str(info.value)
    assert fix in message and info.value.field == "proxy"
    assert SECRET not in message  # the URL is shown, its password is not


def test_proxy_errors_never_show_the_password() -> None:
    for url in [f"http://u:{SECRET}@h:99999", f"u:{SECRET}@h:0", f"http://u:a:{SECRET}@h:0"]:
        with pytest.raises(ConfigError) as info:
            parse_proxy_url(url)
        assert SECRET not in str(info.value) and "u:***@h" in str(info.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (None, "is missing;.* ws:// or wss:// URL"),
        (b"ws://127.0.0.1/", r"got bytes b'ws://127\.0\.0\.1/'; decode it first"),
        (bytearray(b"ws://h/"), "decode it first"),
        (12345, "got int 12345"),
        ("", "is empty; give a ws:// or wss:// URL"),
        ("127.0.0.1:8765", "did you mean 'ws://127.0.0.1:8765/'?"),
        ("https://h/", r"use wss:// instead"),
        ("http://h/", r"use ws:// instead"),
        ("ws://h/a b", "whitespace"),
        ("ws://h/\0", "NUL"),
        ("ws://[::1/", "not a valid URL"),
    ],
)
def test_invalid_urls_are_config_errors_everywhere(url: object, problem: str) -> None:
    for make in (
        lambda: WebSocketConfig(url=url),  # type: ignore[arg-type]
        lambda: WebSocketConfig(url),  # type: ignore[arg-type]
        lambda: omniws.connect(url),  # type: ignore[arg-type]
        lambda: omniws.connect(url, connect_timeout=1),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigError, match=problem) as info:
            make()
        assert isinstance(info.value, ValueError)
        assert info.value.field == "url" and info.value.recoverable is False


def test_connect_without_any_url_is_a_config_error() -> None:
    """connect() and connect(None) cannot be told apart: both are a missing URL."""
    with pytest.raises(ConfigError, match="is missing; connect\\(\\) needs a ws://") as info:
        omniws.connect()
    assert info.value.field == "url"


def test_connect_config_must_be_a_config() -> None:
    with pytest.raises(ConfigError, match="must be a WebSocketConfig, got str") as info:
        omniws.connect(config="ws://h/")  # type: ignore[arg-type]
    assert info.value.field == "config"
    with pytest.raises(TypeError, match="not both"):  # a call of the wrong shape stays TypeError
        omniws.connect("ws://h/", config=WebSocketConfig("ws://h/"))


def test_host_header_and_origin() -> None:
    assert parse_url("wss://H:443/").host_header == "h"
    assert parse_url("ws://[::1]:8080/").host_header == "[::1]:8080"
    assert parse_url("ws://h:80/").origin == parse_url("ws://H/").origin
    assert parse_url("ws://h/").origin != parse_url("wss://h:80/").origin


@pytest.mark.parametrize("host", ["a..b", "\ufff9", "x" * 64 + ".example"])
def test_a_host_that_is_not_a_valid_name_is_a_config_error(host: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid host name"):
        parse_url(f"ws://{host}/")
    with pytest.raises(ConfigError, match="is not a valid host name"):
        parse_proxy_url(f"http://{host}:3128")
    assert parse_url("ws://bücher.example/").host == "bücher.example"  # IDNA is fine
