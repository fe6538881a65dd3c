"""Configuration validation: every invalid value names its field and the fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

import omniws
from omniws import CompressionConfig, ConfigError, ReconnectConfig, WebSocketConfig


def test_defaults_follow_the_original_design() -> None:
    config = WebSocketConfig("ws://127.0.0.1/")
    assert config.connect_timeout == 30.0
    assert config.heartbeat_interval == 30.0
    assert config.max_message_size == 64 * 1024 * 1024
    assert config.deflate == CompressionConfig()
    assert isinstance(config.reconnect, ReconnectConfig)
    assert config.user_agent is not None and config.user_agent.startswith("omniws/")


def test_timedelta_durations() -> None:
    config = WebSocketConfig("ws://h/", connect_timeout=timedelta(milliseconds=1500))
    assert config.connect_timeout == 1.5


@pytest.mark.parametrize(
    ("options", "field", "hint"),
    [
        ({"url": "http://h/"}, "url", "ws://"),
        ({"url": "ws:///path"}, "url", "no host"),
        ({"url": "ws://h/#frag"}, "url", "fragment"),
        ({"url": "ws://h:99999/"}, "url", "port"),
        ({"connect_timeout": -1}, "connect_timeout", "greater than zero"),
        ({"heartbeat_interval": 0}, "heartbeat_interval", "None to disable"),
        ({"close_timeout": "5"}, "close_timeout", "seconds"),
        ({"headers": {"X-A": "a\r\nInjected: 1"}}, "headers", "CR"),
        ({"headers": {"Bad Name": "x"}}, "headers", "token"),
        ({"protocols": ["chat v2"]}, "protocols", "token"),
        ({"protocols": "chat"}, "protocols", "list"),
        ({"max_message_size": 0}, "max_message_size", ">= 1"),
        ({"compression": "yes"}, "compression", "CompressionConfig"),
        ({"ssl": object()}, "ssl", "SSLContext"),
    ],
)
def test_invalid_values(options: dict[str, object], field: str, hint: str) -> None:
    options.setdefault("url", "ws://h/")
    with pytest.raises(ConfigError, match=hint) as info:
        WebSocketConfig(**options)  # type: ignore[arg-type]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_attempts": 0}, "reconnect.max_attempts"),
        ({"jitter": 2}, "reconnect.jitter"),
        ({"multiplier": 0.5}, "reconnect.multiplier"),
        ({"initial_delay": -1}, "reconnect.initial_delay"),
        ({"initial_delay": 5, "max_delay": 1}, "reconnect.max_delay"),
    ],
)
def test_invalid_reconnect(options: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        ReconnectConfig(**options)  # type: ignore[arg-type]
    assert info.value.field == field


def test_connect_rejects_bad_options_before_any_io() -> None:
    with pytest.raises(ConfigError):
        omniws.connect("ftp://x/")
    with pytest.raises(TypeError):
        omniws.connect("ws://h/", no_such_option=1)
