"""Redirect decisions of the opening handshake, sans-I/O.

Which answers are followed (301, 302, 303, 307, 308), where to (:func:`redirect_url`:
a relative Location resolved, ``http``/``https`` mapped to ``ws``/``wss``, ``wss://`` never
downgraded to ``ws://``), with which headers (Authorization and Cookie stay behind when the
origin changes) and how often (:class:`Redirects`: at most ``max_redirects``, no loops).
The caller does the I/O: it opens a connection to :attr:`Redirects.url` with
:attr:`Redirects.headers` and hands every non-101 answer to :meth:`Redirects.follow`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..errors import ConnectionFailed
from .uri import parse_url

if TYPE_CHECKING:  # only for the annotation: handshake imports this module
    from .handshake import Response

__all__ = ["CREDENTIAL_HEADERS", "REDIRECT_STATUSES", "Redirects", "redirect_url"]

REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
CREDENTIAL_HEADERS = frozenset(("authorization", "cookie"))


def redirect_url(response: Response, url: str) -> str:
    """The ``ws://`` or ``wss://`` URL that a 3xx answer to a request for ``url`` points to.

    A relative Location is resolved against ``url``; ``http``/``https`` map to ``ws``/``wss``;
    a fragment is dropped. ConnectionFailed (not recoverable) when there is no usable
    Location, or when it would downgrade ``wss://`` to ``ws://``.
    """
    values = response.header_lists.get("location", [])
    problem = f"server answered HTTP {response.status} {response.reason}".rstrip()
    if len(values) != 1 or not values[0]:
        raise ConnectionFailed(
            f"{problem} with {len(values) or 'no'} Location headers; cannot follow it",
            recoverable=False,
        )
    location = values[0]
    if not all(0x21 <= ord(c) <= 0x7E for c in location):
        raise ConnectionFailed(
            f"{problem} to a Location with spaces or control characters: {location[:120]!r}",
            recoverable=False,
        )
    try:
        target = urljoin(url, location).partition("#")[0]
        scheme = urlsplit(target).scheme.lower()
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
        target = scheme + target[target.index(":") :] if ":" in target else target
        secure = parse_url(target, "Location").secure
    except ValueError as exc:  # ConfigError, or urllib's own (e.g. an unclosed "[")
        raise ConnectionFailed(
            f"{problem} to {location[:120]!r}, which is not a WebSocket URL ({exc})",
            recoverable=False,
        ) from None
    if parse_url(url).secure and not secure:
        raise ConnectionFailed(
            f"{problem} from {url} to {target}: refusing to downgrade wss:// to an "
            "unencrypted ws:// connection",
            recoverable=False,
        )
    return target


def redirect_headers(headers: Mapping[str, str], url: str, target: str) -> dict[str, str]:
    """The headers to send to ``target``: without credentials when the origin changes."""
    if parse_url(target).origin == parse_url(url).origin:
        return dict(headers)
    return {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}


class Redirects:
    """The redirects of one opening: where the next request goes, and with which headers."""

    def __init__(self, url: str, headers: Mapping[str, str], max_redirects: int) -> None:
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be >= 0, got {max_redirects}")
        self.url = url
        self.headers = dict(headers)
        self.max_redirects = max_redirects
        self.followed = 0
        self._seen = {url}

    def follow(self, response: Response) -> bool:
        """Take the non-101 ``response`` to a request for :attr:`url`.

        False: not a redirect to follow (the caller raises the rejection). True: :attr:`url`
        and :attr:`headers` now describe the next request. ConnectionFailed (not
        recoverable) for an unusable Location, a downgrade, a loop or too many redirects.
        """
        if response.status not in REDIRECT_STATUSES or self.max_redirects == 0:
            return False
        target = redirect_url(response, self.url)
        if self.followed == self.max_redirects:
            raise ConnectionFailed(
                f"too many redirects: {self.followed + 1} in a row, the last from {self.url} "
                f"to {target}; raise max_redirects if this is expected",
                recoverable=False,
            )
        if target in self._seen:
            raise ConnectionFailed(
                f"redirect loop: {self.url} redirected back to {target}", recoverable=False
            )
        self._seen.add(target)
        self.headers = redirect_headers(self.headers, self.url, target)
        self.url = target
        self.followed += 1
        return True
