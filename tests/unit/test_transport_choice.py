"""Which transport opens connections: the config field, OMNIWS_TRANSPORT, and aiofastnet
being installed or not (simulated here; the real one is in tests/integration)."""

from __future__ import annotations

import pytest

from omniws import ConfigError, WebSocketConfig, _platform, connect
from omniws.native import transport as chooser


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chooser, "_FASTNET", object())
    monkeypatch.delenv("OMNIWS_TRANSPORT", raising=False)


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chooser, "_FASTNET", None)
    monkeypatch.delenv("OMNIWS_TRANSPORT", raising=False)


def test_auto_uses_aiofastnet_for_tls_when_installed(installed: None) -> None:
    assert chooser.active_transport("auto") == "fast"
    assert chooser.active_transport("auto", tls=False) == "asyncio"  # measured cheaper
    assert chooser.active_transport("fast") == "fast"
    assert chooser.active_transport("fast", tls=False) == "fast"
    assert chooser.active_transport("asyncio") == "asyncio"
    assert _platform.transport() == "fast"
    assert _platform.transport(tls=False) == "asyncio"


def test_without_aiofastnet_auto_is_the_standard_library(missing: None) -> None:
    assert chooser.active_transport("auto") == "asyncio"
    assert _platform.transport("asyncio") == "asyncio"
    with pytest.raises(ConfigError, match=r"transport='fast' needs aiofastnet.*omniws\[fast\]"):
        chooser.active_transport("fast")


def test_environment_decides_for_auto_only(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIWS_TRANSPORT", "asyncio")
    assert chooser.active_transport("auto") == "asyncio"
    assert chooser.active_transport("fast") == "fast"  # the config field wins
    monkeypatch.setenv("OMNIWS_TRANSPORT", " FAST ")
    assert chooser.active_transport("auto") == "fast"
    monkeypatch.setenv("OMNIWS_TRANSPORT", "")
    assert chooser.active_transport("auto") == "fast"


def test_environment_asking_for_a_missing_transport_says_how_to_install(
    missing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIWS_TRANSPORT", "fast")
    with pytest.raises(ConfigError, match=r"OMNIWS_TRANSPORT=fast needs aiofastnet"):
        chooser.active_transport("auto")
    assert chooser.active_transport("asyncio") == "asyncio"


def test_bad_environment_value_is_named(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIWS_TRANSPORT", "uvloop")
    with pytest.raises(ConfigError, match=r"OMNIWS_TRANSPORT.*auto, asyncio, fast.*'uvloop'"):
        chooser.active_transport("auto")


def test_config_field_is_validated_and_reaches_connect() -> None:
    assert WebSocketConfig("ws://h/").transport == "auto"
    assert WebSocketConfig("ws://h/", transport="asyncio").transport == "asyncio"
    with pytest.raises(ConfigError, match=r"transport.*auto, asyncio or fast.*'quick'"):
        WebSocketConfig("ws://h/", transport="quick")  # type: ignore[arg-type]
    assert connect("ws://h/", transport="fast").config.transport == "fast"
