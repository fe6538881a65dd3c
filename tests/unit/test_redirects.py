"""The redirect decisions (protocol/redirects.py), without any I/O: which answers are
followed, where to, with which headers, and how many times."""

from __future__ import annotations

import pytest

from omniws.errors import ConnectionFailed
from omniws.protocol.handshake import Response
from omniws.protocol.redirects import Redirects, redirect_headers, redirect_url

CREDENTIALS = {"Authorization": "Bearer t", "cookie": "s=1", "X-Trace": "kept"}


def answer(status: int, *locations: str) -> Response:
    return Response(status, "Moved", {"location": ", ".join(locations)}, {"location": [*locations]})


@pytest.mark.parametrize(
    ("base", "location", "target"),
    [
        ("ws://h/a/b", "/c", "ws://h/c"),
        ("ws://h/a/b", "c?x=1", "ws://h/a/c?x=1"),
        ("ws://h/a", "http://o:81/p", "ws://o:81/p"),
        ("ws://h/a", "https://o/p", "wss://o/p"),
        ("ws://h/a", "wss://o/p#frag", "wss://o/p"),
        ("wss://h/a", "//o:9/p", "wss://o:9/p"),
        ("wss://h/a", "/b", "wss://h/b"),
    ],
)
def test_redirect_url(base: str, location: str, target: str) -> None:
    assert redirect_url(answer(302, location), base) == target


@pytest.mark.parametrize(
    ("base", "location", "problem"),
    [
        ("wss://h/", "ws://h/", "refusing to downgrade wss://"),
        ("wss://h/", "http://h/", "refusing to downgrade wss://"),
        ("ws://h/", "ftp://h/", "not a WebSocket URL"),
        ("ws://h/", "ws://h:0/", "port 0"),
        ("ws://h/", "wss://:9/x", "no host"),
        ("ws://h/", "/a b", "spaces or control characters"),
    ],
)
def test_unusable_or_downgrading_redirects(base: str, location: str, problem: str) -> None:
    with pytest.raises(ConnectionFailed, match=problem) as info:
        redirect_url(answer(301, location), base)
    assert info.value.recoverable is False


def test_location_must_be_one() -> None:
    for response in (answer(302), answer(302, "/a", "/b"), answer(302, "")):
        with pytest.raises(ConnectionFailed, match="Location"):
            redirect_url(response, "ws://h/")


@pytest.mark.parametrize(
    ("url", "target", "kept"),
    [
        ("ws://h/a", "ws://h/b", True),
        ("ws://h/a", "ws://H:80/b", True),
        ("ws://h/a", "ws://h:81/b", False),
        ("ws://h/a", "ws://other/b", False),
        ("ws://h/a", "wss://h/b", False),  # another scheme is another origin
        ("wss://h/a", "wss://h:443/b", True),
    ],
)
def test_credentials_follow_only_on_the_same_origin(url: str, target: str, kept: bool) -> None:
    headers = redirect_headers(CREDENTIALS, url, target)
    assert headers["X-Trace"] == "kept"
    assert ("Authorization" in headers and "cookie" in headers) is kept
    assert ("Authorization" in headers or "cookie" in headers) is kept


def test_redirects_follow_and_count() -> None:
    chain = Redirects("ws://h/1", CREDENTIALS, max_redirects=3)
    assert chain.follow(answer(307, "/2")) is True
    assert (chain.url, chain.followed) == ("ws://h/2", 1)
    assert chain.headers == CREDENTIALS  # same origin
    assert chain.follow(answer(308, "ws://other:81/3")) is True
    assert "Authorization" not in chain.headers
    assert chain.follow(answer(301, "ws://h/4")) is True  # back home: credentials stay dropped
    assert "Authorization" not in chain.headers and chain.headers["X-Trace"] == "kept"
    with pytest.raises(ConnectionFailed, match="too many redirects: 4 in a row") as info:
        chain.follow(answer(302, "/5"))
    assert info.value.recoverable is False and chain.url == "ws://h/4"


@pytest.mark.parametrize("status", [200, 300, 304, 400, 404, 500, 503])
def test_other_statuses_are_not_followed(status: int) -> None:
    chain = Redirects("ws://h/", {}, max_redirects=5)
    assert chain.follow(answer(status, "/x")) is False
    assert (chain.url, chain.followed) == ("ws://h/", 0)


def test_max_redirects_zero_follows_nothing() -> None:
    chain = Redirects("ws://h/", {}, max_redirects=0)
    assert chain.follow(answer(302, "/x")) is False


def test_redirect_loop_is_refused() -> None:
    chain = Redirects("ws://h/a", {}, max_redirects=10)
    assert chain.follow(answer(302, "/b"))
    with pytest.raises(ConnectionFailed, match="redirect loop: ws://h/b redirected back"):
        chain.follow(answer(302, "/a"))


def test_negative_max_redirects_is_refused() -> None:
    with pytest.raises(ValueError, match="max_redirects"):
        Redirects("ws://h/", {}, max_redirects=-1)
