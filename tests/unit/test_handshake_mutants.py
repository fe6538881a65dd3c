"""The opening handshake at its edges: response parsing, validation and redirects.

Each test pins a behaviour that a surviving mutant of handshake.py changed (see
docs/MUTATION.md).
"""

from __future__ import annotations

import base64

import pytest

from omniws.errors import ConnectionFailed, HandshakeRejected, ProtocolError
from omniws.protocol.handshake import (
    MAX_HEADERS,
    MAX_RESPONSE_HEAD,
    Response,
    ResponseReader,
    accept_key,
    new_key,
    redirect_url,
    validate_response,
)


def parse(head: str) -> Response:
    result = ResponseReader().feed(head.encode("latin-1") + b"\r\n\r\n")
    assert result is not None
    return result[0]


def test_key_is_16_random_bytes() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(base64.b64decode(key, validate=True)) == 16 for key in keys)


def test_reason_phrase_and_header_values() -> None:
    response = parse("HTTP/1.1 404 Not Found Here\r\nLocation: ws://h:81/x\r\nX-A: 1\r\nx-a:  2 ")
    assert (response.status, response.reason) == (404, "Not Found Here")
    assert response.headers == {"location": "ws://h:81/x", "x-a": "1, 2"}
    assert response.header_lists == {"location": ["ws://h:81/x"], "x-a": ["1", "2"]}
    assert parse("HTTP/1.1 101").reason == ""


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("HTTP/1.1", "server did not answer with HTTP/1.1: 'HTTP/1.1'; is this a WebSocket"),
        ("HTTP/1.1 101 OK\r\nX-A : 1", "malformed header line in handshake response: 'X-A : 1'"),
        ("HTTP/1.1 101 OK\r\n: 1", "malformed header line in handshake response: ': 1'"),
    ],
)
def test_malformed_heads_are_named(head: str, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(head)
    assert str(info.value).startswith(message)


def test_long_lines_are_quoted_up_to_80_characters() -> None:
    status = "HTTP/1.1 101 " + "x" * 200
    with pytest.raises(ProtocolError) as info:
        parse("SSH" + status)
    assert str(info.value) == (
        f"server did not answer with HTTP/1.1: {('SSH' + status)[:80]!r}; is this a WebSocket "
        "endpoint, and is the scheme (ws:// or wss://) right?"
    )
    line = "X-Bad : " + "y" * 200
    with pytest.raises(ProtocolError) as info:
        parse("HTTP/1.1 101 OK\r\n" + line)
    assert str(info.value) == f"malformed header line in handshake response: {line[:80]!r}"


def test_status_line_fields_are_separated_by_single_spaces() -> None:
    assert parse("HTTP/1.1 404  Not Found").reason == " Not Found"
    with pytest.raises(ProtocolError, match=r"did not answer with HTTP/1\.1"):
        parse("HTTP/1.1\t101 OK")


def test_empty_head_is_refused_at_once() -> None:
    with pytest.raises(ProtocolError, match=r"did not answer with HTTP/1\.1"):
        ResponseReader().feed(b"\r\n\r\n")


def test_exactly_max_headers_are_accepted() -> None:
    assert len(parse("HTTP/1.1 101 OK" + "\r\nX: y" * MAX_HEADERS).header_lists["x"]) == MAX_HEADERS


def test_head_of_exactly_the_maximum_size_is_accepted() -> None:
    status = b"HTTP/1.1 101 OK\r\nX: "
    head = status + b"a" * (MAX_RESPONSE_HEAD - len(status))
    assert ResponseReader().feed(head + b"\r\n\r\n") is not None
    reader = ResponseReader()
    assert reader.feed(head) is None  # MAX_RESPONSE_HEAD bytes without an end: keep reading
    with pytest.raises(ProtocolError, match=f"exceeds {MAX_RESPONSE_HEAD} bytes"):
        reader.feed(b"a\r\n\r\n")


def test_head_ends_at_the_first_blank_line() -> None:
    data = b"HTTP/1.1 101 OK\r\nA: 1\r\n\r\nframe\r\n\r\nmore"
    reader = ResponseReader()
    assert reader.feed(data[:3]) is None
    result = reader.feed(data[3:])
    assert result is not None and result[1] == b"frame\r\n\r\nmore"


def ok(*extra: str) -> Response:
    return parse(
        "\r\n".join(["HTTP/1.1 101 OK", f"Sec-WebSocket-Accept: {accept_key('k')}", *extra])
    )


def test_header_tokens_split_on_commas_only() -> None:
    response = ok("Upgrade: WebSocket", "Connection: keep-alive,Upgrade")
    assert validate_response(response, "k", [], False) == (None, [])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["Upgrade: h2c", "Connection: Upgrade"], "Upgrade header is 'h2c', expected 'websocket'"),
        (
            ["Upgrade: websocket", "Connection: close"],
            "Connection header is 'close', expected 'Upgrade'",
        ),
        (
            [
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Extensions: a",
                "Sec-WebSocket-Extensions: b",
            ],
            "server accepted extensions we did not offer: a, b",
        ),
    ],
)
def test_invalid_101_names_the_header(extra: list[str], message: str) -> None:
    with pytest.raises(ConnectionFailed) as info:
        validate_response(ok(*extra), "k", [], False)
    assert str(info.value) == f"invalid handshake response: {message}"
    assert info.value.recoverable is False


def test_wrong_accept_key_is_named() -> None:
    with pytest.raises(ConnectionFailed) as info:
        validate_response(ok("Upgrade: websocket", "Connection: Upgrade"), "other", [], False)
    expected = "invalid handshake response: Sec-WebSocket-Accept does not match the key we sent"
    assert str(info.value) == expected


def test_long_locations_are_quoted_up_to_120_characters() -> None:
    spaced, bad_port = "ws://b/ " + "z" * 200, "ws://b:99999/" + "z" * 200
    with pytest.raises(ConnectionFailed) as info:
        redirect_url(redirect(spaced), "ws://a/")
    assert str(info.value).endswith(f"control characters: {spaced[:120]!r}")
    with pytest.raises(ConnectionFailed) as info:
        redirect_url(redirect(bad_port), "ws://a/")
    assert f"Moved to {bad_port[:120]!r}, which is not" in str(info.value)


def test_rejection_keeps_reason_and_body() -> None:
    response = Response(403, "Forbidden", {"x": "1"}, {"x": ["1"]}, b"go away")
    with pytest.raises(HandshakeRejected) as info:
        validate_response(response, "k", [], False)
    assert (info.value.reason, info.value.body) == ("Forbidden", b"go away")


def redirect(*locations: str, status: int = 301, reason: str = "Moved") -> Response:
    return Response(status, reason, {}, {"location": list(locations)} if locations else {})


@pytest.mark.parametrize(
    ("url", "location", "target"),
    [
        ("ws://a/x/y", "z", "ws://a/x/z"),
        ("ws://a/x", "/p?q=1#frag", "ws://a/p?q=1"),
        ("wss://a/", "https://b:8443/s", "wss://b:8443/s"),
        ("ws://a/", "http://b/s", "ws://b/s"),
        ("ws://a/", "HTTP://b/s", "ws://b/s"),
        ("ws://a/", "ws://b/~!", "ws://b/~!"),
        ("ws://a/", "//c/p", "ws://c/p"),
    ],
)
def test_redirect_targets(url: str, location: str, target: str) -> None:
    assert redirect_url(redirect(location), url) == target


@pytest.mark.parametrize(
    ("response", "url", "message"),
    [
        (redirect(), "ws://a/", "server answered HTTP 301 Moved with no Location headers"),
        (
            redirect("ws://b/", "ws://c/"),
            "ws://a/",
            "server answered HTTP 301 Moved with 2 Location headers; cannot follow it",
        ),
        (redirect("", reason=""), "ws://a/", "server answered HTTP 301 with 1 Location headers"),
        (
            redirect("ws://b/a b"),
            "ws://a/",
            "server answered HTTP 301 Moved to a Location with spaces or control characters: "
            "'ws://b/a b'",
        ),
        (
            redirect("ws://b/\x7f"),
            "ws://a/",
            "server answered HTTP 301 Moved to a Location with spaces or control characters",
        ),
        (
            redirect("ftp://b/"),
            "ws://a/",
            "server answered HTTP 301 Moved to 'ftp://b/', which is not a WebSocket URL (",
        ),
        (
            redirect("ws://b/"),
            "wss://a/",
            "server answered HTTP 301 Moved from wss://a/ to ws://b/: refusing to downgrade "
            "wss:// to an unencrypted ws:// connection",
        ),
    ],
)
def test_unusable_redirects_are_explained(response: Response, url: str, message: str) -> None:
    with pytest.raises(ConnectionFailed) as info:
        redirect_url(response, url)
    assert str(info.value).startswith(message)
    assert info.value.recoverable is False


def test_invalid_location_names_the_location_field() -> None:
    with pytest.raises(ConnectionFailed) as info:
        redirect_url(redirect("ws://b:99999/"), "ws://a/")
    assert "(Location: has an invalid port" in str(info.value)
    assert info.value.recoverable is False


def test_upgrade_to_wss_is_followed() -> None:
    assert redirect_url(redirect("wss://b/"), "ws://a/") == "wss://b/"


def test_redirect_loop_is_refused_for_good() -> None:
    from omniws.protocol.redirects import Redirects

    redirects = Redirects("ws://a/", {}, 5)
    assert redirects.follow(redirect("ws://b/"))
    assert redirects.follow(redirect("ws://c/"))
    with pytest.raises(ConnectionFailed) as info:
        redirects.follow(redirect("ws://b/"))  # seen before, though not the start
    assert str(info.value) == "redirect loop: ws://c/ redirected back to ws://b/"
    assert info.value.recoverable is False
