"""NO_PROXY matching, with curl's semantics: names match themselves and their subdomains,
``*`` matches everything, IP addresses and CIDR blocks (IPv4 and IPv6, with or without
brackets) match IP hosts, and an optional ``:port`` limits an entry to that port."""

from __future__ import annotations

import pytest

from omniws import ConfigError, WebSocketConfig
from omniws._proxy_env import bypass, select_proxy

CASES = [
    # (no_proxy, host, port, bypassed)
    ("", "example.org", 80, False),
    ("*", "example.org", 80, True),
    ("*", "::1", 80, True),
    ("a.test, *", "example.org", 80, True),
    ("example.org", "example.org", 80, True),
    ("example.org", "EXAMPLE.ORG", 80, True),
    ("example.org", "www.example.org", 80, True),
    ("example.org", "example.org.", 80, True),
    ("example.org", "badexample.org", 80, False),
    ("example.org", "example.org.evil", 80, False),
    (".example.org", "example.org", 80, True),
    (".example.org", "a.b.example.org", 80, True),
    ("www.example.org", "example.org", 80, False),
    ("example.org:8080", "example.org", 8080, True),
    ("example.org:8080", "example.org", 80, False),
    ("a.test,example.org", "example.org", 80, True),
    ("a.test example.org", "example.org", 80, True),
    ("  a.test ,, example.org  ", "example.org", 80, True),
    ("localhost", "localhost", 80, True),
    # IPv4 addresses and blocks
    ("127.0.0.1", "127.0.0.1", 80, True),
    ("127.0.0.1", "127.0.0.2", 80, False),
    ("127.0.0.0/8", "127.1.2.3", 80, True),
    ("127.0.0.0/8", "128.0.0.1", 80, False),
    ("10.0.0.0/8,192.168.0.0/16", "192.168.7.7", 80, True),
    ("127.0.0.1/8", "127.9.9.9", 80, True),  # host bits set: curl masks them too
    ("127.0.0.0/8:8080", "127.0.0.1", 8080, True),
    ("127.0.0.0/8:8080", "127.0.0.1", 80, False),
    ("127.0.0.1:8080", "127.0.0.1", 8080, True),
    ("127.0.0.1:8080", "127.0.0.1", 9090, False),
    ("0.0.1", "127.0.0.1", 80, False),  # not a domain suffix of an address
    ("0.0.1", "host.0.0.1", 80, True),
    ("127.0.0.0/8", "localhost", 80, False),  # names are not resolved
    ("127.0.0.1", "localhost", 80, False),
    # IPv6 literals and blocks, bare or in brackets
    ("::1", "::1", 80, True),
    ("[::1]", "::1", 80, True),
    ("::1/128", "::1", 80, True),
    ("[::1]/128", "::1", 80, True),
    ("::1", "::2", 80, False),
    ("0:0:0:0:0:0:0:1", "::1", 80, True),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]:8080", "::1", 80, False),
    ("fd00::/8", "fd12:3456::1", 80, True),
    ("fd00::/8", "fe80::1", 80, False),
    ("fe80::/10", "fe80::1%eth0", 80, True),
    ("::1", "127.0.0.1", 80, False),
    ("127.0.0.1", "::1", 80, False),
    ("::/0", "2001:db8::1", 80, True),
    ("::/0", "10.0.0.1", 80, False),
    # entries that are neither names nor addresses match nothing, and break nothing
    ("[::1", "::1", 80, False),
    ("300.1.1.1", "300.1.1.1", 80, True),  # not an address: compared as a name
    (".", "example.org", 80, False),
    (":8080", "example.org", 8080, False),
]


@pytest.mark.parametrize(("no_proxy", "host", "port", "bypassed"), CASES)
def test_no_proxy(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    assert bypass(host, port, no_proxy) is bypassed


def test_select_proxy_honours_no_proxy_for_ipv6_and_cidr(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    config = WebSocketConfig("ws://[::1]:8765/")
    proxy = select_proxy(config, config.endpoint)
    assert proxy is not None and (proxy.host, proxy.port) == ("proxy.test", 3128)
    monkeypatch.setenv("NO_PROXY", "[::1]")
    assert select_proxy(config, config.endpoint) is None
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8, 127.0.0.0/8")
    v4 = WebSocketConfig("ws://127.3.4.5:8765/")
    assert select_proxy(v4, v4.endpoint) is None
    assert select_proxy(config, config.endpoint) is not None
    explicit = WebSocketConfig("ws://127.3.4.5:8765/", proxy="socks5://s.test")
    chosen = select_proxy(explicit, explicit.endpoint)
    assert chosen is not None and chosen.scheme == "socks5"  # explicit beats NO_PROXY


def test_environment_proxy_with_port_zero_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("ALL_PROXY", "socks5://u:pw@proxy.test:0")
    config = WebSocketConfig("ws://example.org/")
    with pytest.raises(ConfigError, match="port 0") as info:
        select_proxy(config, config.endpoint)
    assert info.value.field == "ALL_PROXY (environment variable)"
    assert "pw" not in str(info.value) and "1080 for socks5://" in str(info.value)
