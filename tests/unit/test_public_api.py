"""The public surface reads well: explicit signatures, docstrings, no private names."""

from __future__ import annotations

import dataclasses
import inspect
import pydoc

import pytest

import omniws

CLIENT_ONLY = {
    "heartbeat_interval",
    "heartbeat_timeout",
    "heartbeat_message",
    "heartbeat_reply",
    "reconnect",
    "send_timeout",
    "browser_lifecycle",
}


def test_connect_lists_every_connection_option_with_the_config_defaults() -> None:
    parameters = inspect.signature(omniws.connect).parameters
    fields = {f.name: f for f in dataclasses.fields(omniws.WebSocketConfig) if f.init}
    assert set(parameters) - {"config"} == set(fields) - CLIENT_ONLY
    for name, parameter in parameters.items():
        assert parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        if name in ("url", "config", "headers"):
            continue
        assert parameter.default == fields[name].default, name


def test_client_only_options_are_refused_by_connect() -> None:
    with pytest.raises(TypeError, match="heartbeat_interval"):
        omniws.connect("ws://127.0.0.1:1/", heartbeat_interval=5)  # type: ignore[call-arg]


def test_config_and_options_together_is_a_type_error() -> None:
    config = omniws.WebSocketConfig("ws://127.0.0.1:1/")
    with pytest.raises(TypeError, match="max_queue"):
        omniws.connect(config=config, max_queue=5)
    assert omniws.connect(config=config).config is config


def test_help_reads_well() -> None:
    text = pydoc.render_doc(omniws.connect, renderer=pydoc.plaintext)
    assert "-> 'Opening'" in text and "max_message_size: 'int | None' = 67108864" in text
    assert "class connect" not in text and "**options" not in text
    client = pydoc.render_doc(omniws.WebSocketClient, renderer=pydoc.plaintext)
    assert "Initialize self" not in client
    assert "Supervisor" not in client and "Waiting" not in client


def test_implementation_reports_the_core_and_the_transports() -> None:
    assert omniws.implementation() in ("compiled", "python")
    assert omniws.implementation("core") == omniws.implementation()
    for part in ("tls", "tcp"):
        assert omniws.implementation(part) in ("fast", "asyncio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="part"):
        omniws.implementation("disk")  # type: ignore[arg-type]
