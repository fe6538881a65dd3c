"""The opening handshake: the request we send and every check on the answer."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniws.errors import ConnectionFailed, HandshakeRejected, ProtocolError
from omniws.protocol.handshake import (
    MAX_RESPONSE_HEAD,
    ResponseReader,
    accept_key,
    build_request,
    new_key,
    validate_response,
)


def test_accept_key_matches_rfc_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_request_carries_everything() -> None:
    key = new_key()
    request = build_request(
        "/feed?x=1",
        "example.org:8080",
        key,
        headers={"Authorization": "Bearer t"},
        protocols=["v2", "v1"],
        extensions="permessage-deflate",
        origin="http://o",
        user_agent="ua/1",
    )
    text = request.decode()
    assert text.startswith("GET /feed?x=1 HTTP/1.1\r\nHost: example.org:8080\r\n")
    for line in [
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: v2, v1",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Origin: http://o",
        "User-Agent: ua/1",
        "Authorization: Bearer t",
    ]:
        assert f"\r\n{line}\r\n" in text
    assert text.endswith("\r\n\r\n")


def test_keys_are_random() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(base64.b64decode(key, validate=True)) == 16 for key in keys)


def test_user_agent_header_overrides_default() -> None:
    request = build_request("/", "h", "k", headers={"user-agent": "mine"}, user_agent="d")
    assert b"User-Agent: d" not in request and b"user-agent: mine" in request


def test_request_is_built_from_plain_values() -> None:
    request = build_request("/a?b", "[::1]:9443", "k")
    assert request.startswith(b"GET /a?b HTTP/1.1\r\nHost: [::1]:9443\r\n")
    assert b"Sec-WebSocket-Protocol" not in request and b"Origin" not in request


def test_accept_key_works_when_sha1_is_refused_for_security(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FIPS builds refuse SHA-1 unless the caller says it is not for security."""
    real_sha1 = hashlib.sha1

    def fips_sha1(data: bytes = b"", **kwargs: bool) -> Any:
        if kwargs.get("usedforsecurity", True):
            raise ValueError("[digital envelope routines] unsupported (FIPS)")
        return real_sha1(data, usedforsecurity=False)

    monkeypatch.setattr(hashlib, "sha1", fips_sha1)
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def response(key: str, *extra: str, status: str = "101 Switching Protocols") -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read(data: bytes, chunk: int = 7):  # type: ignore[no-untyped-def]
    reader = ResponseReader()
    for start in range(0, len(data), chunk):
        result = reader.feed(data[start : start + chunk])
        if result is not None:
            return result
    raise AssertionError("incomplete")


def test_valid_response_with_leftover_bytes() -> None:
    parsed, rest = read(response("k", "Sec-WebSocket-Protocol: v2") + b"\x81\x00", chunk=1000)
    assert rest == b"\x81\x00"
    assert validate_response(parsed, "k", ["v1", "v2"], False) == ("v2", [])


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["Sec-WebSocket-Protocol: v9"], "did not offer"),
        (["Sec-WebSocket-Extensions: permessage-deflate"], "extensions we did not offer"),
    ],
)
def test_invalid_101_answers(extra: list[str], problem: str) -> None:
    parsed, _ = read(response("k", *extra))
    with pytest.raises(ConnectionFailed, match=problem) as info:
        validate_response(parsed, "k", ["v1"], False)
    assert not info.value.recoverable


def test_wrong_accept_key() -> None:
    parsed, _ = read(response("other"))
    with pytest.raises(ConnectionFailed, match="Sec-WebSocket-Accept"):
        validate_response(parsed, "k", [], False)


def test_missing_upgrade() -> None:
    parsed, _ = read(b"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n\r\n")
    with pytest.raises(ConnectionFailed, match="Upgrade"):
        validate_response(parsed, "k", [], False)


@pytest.mark.parametrize(
    ("status", "recoverable"), [(401, False), (404, False), (429, True), (503, True)]
)
def test_rejections(status: int, recoverable: bool) -> None:
    parsed, _ = read(f"HTTP/1.1 {status} Nope\r\nRetry-After: 7\r\nX-A: 1\r\n\r\n".encode())
    with pytest.raises(HandshakeRejected) as info:
        validate_response(parsed, "k", [], False)
    assert info.value.status == status
    assert info.value.headers["x-a"] == "1"
    assert info.value.recoverable is recoverable
    assert info.value.retry_after == 7.0


def test_response_head_is_bounded() -> None:
    reader = ResponseReader()
    with pytest.raises(ProtocolError, match="exceeds"):
        for _ in range(MAX_RESPONSE_HEAD // 1000 + 2):
            reader.feed(b"X-Pad: " + b"a" * 993 + b"\r\n")


def test_too_many_headers() -> None:
    head = b"HTTP/1.1 101 OK\r\n" + b"X: y\r\n" * 500 + b"\r\n"
    with pytest.raises(ProtocolError, match="headers"):
        ResponseReader().feed(head)


def test_not_http() -> None:
    with pytest.raises(ProtocolError, match=r"HTTP/1\.1"):
        ResponseReader().feed(b"SSH-2.0-OpenSSH\r\n\r\n")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_arbitrary_responses_only_raise_protocol_errors(data: bytes) -> None:
    try:
        result = ResponseReader().feed(data + b"\r\n\r\n")
        if result is not None:
            validate_response(result[0], "k", ["a"], True)
    except (ProtocolError, ConnectionFailed):
        pass
