"""Which proxy a connection uses: the ``proxy`` option, else the environment and NO_PROXY.

NO_PROXY follows curl: entries are separated by commas (or spaces); a ``*`` entry matches
every host; a name matches itself and its subdomains (a leading dot is ignored); an IP
address or CIDR block (``127.0.0.0/8``, ``::1``, ``[::1]``, ``::1/128``) matches IP hosts
in it; an entry may end in ``:port`` (``[::1]:8080`` for IPv6) to match that port only.
Names are never resolved to match an IP entry, and an IP host never matches a name entry.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from typing import NamedTuple

from ._urls import Endpoint, ProxyURL, parse_proxy_url
from .config import WebSocketConfig

__all__ = ["bypass", "select_proxy"]

_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def select_proxy(config: WebSocketConfig, endpoint: Endpoint) -> ProxyURL | None:
    """The proxy for ``endpoint``: ``config.proxy``, else the environment (unless off).

    ``wss://`` uses HTTPS_PROXY, ``ws://`` HTTP_PROXY, both fall back to ALL_PROXY;
    lower-case names win over upper-case ones; NO_PROXY lists hosts to reach directly.
    """
    if config.proxy is not None:
        return parse_proxy_url(config.proxy)
    if not config.proxy_from_env:
        return None
    proxies = urllib.request.getproxies_environment()
    for key in ("https" if endpoint.secure else "http", "all"):
        value = proxies.get(key)
        if value:
            break
    else:
        return None
    if bypass(endpoint.host, endpoint.port, proxies.get("no", "")):
        return None
    return parse_proxy_url(value, f"{key.upper()}_PROXY (environment variable)")


class _Entry(NamedTuple):
    name: str  # a lower-case host name without dots at either end, or "" for an IP entry
    network: _IPNetwork | None
    port: str  # "" for any port


def _ip_network(text: str) -> _IPNetwork | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _entry(raw: str) -> _Entry | None:
    """One NO_PROXY entry, or None for an empty one."""
    entry = raw.strip().lower()
    port = ""
    if entry.startswith("["):  # [v6], [v6]:port, [v6]/prefix
        inside, close, after = entry[1:].partition("]")
        if not close:
            return None  # an unclosed bracket: no host to match
        if after.startswith(":"):
            port, after = after[1:], ""
        entry = inside + after
    elif entry.count(":") == 1:  # name:port or v4:port; more colons: a bare IPv6 literal
        entry, _, port = entry.partition(":")
    network = _ip_network(entry)
    if network is not None:
        return _Entry("", network, port)
    name = entry.strip(".")
    return _Entry(name, None, port) if name else None


def _host_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.partition("%")[0])  # without an IPv6 zone
    except ValueError:
        return None


def bypass(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY says to reach ``host`` (a name or an IP, without brackets) on
    ``port`` directly."""
    host = host.lower().rstrip(".")
    ip = _host_ip(host)
    for raw in no_proxy.replace(" ", ",").split(","):
        if raw.strip() == "*":
            return True
        entry = _entry(raw)
        if entry is None or (entry.port and entry.port != str(port)):
            continue
        if entry.network is not None:
            if ip is not None and ip.version == entry.network.version and ip in entry.network:
                return True
        elif ip is None and (host == entry.name or host.endswith("." + entry.name)):
            return True
    return False
