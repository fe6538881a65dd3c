"""The reconnect delay policy and every retry decision (pure: no clock, no I/O)."""

from __future__ import annotations

import random
import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniws.client.retry import (
    Backoff,
    as_websocket_error,
    backoff_delay,
    is_retryable,
    retry_after_of,
    should_retry,
)
from omniws.config import ReconnectConfig
from omniws.errors import (
    ConfigError,
    ConnectionClosed,
    ConnectionFailed,
    HandshakeRejected,
    MessageTooLarge,
    ProtocolError,
    WebSocketError,
    WebSocketTimeout,
)
from omniws.messages import CloseFrame


def test_exponential_sequence_without_jitter_is_capped() -> None:
    config = ReconnectConfig(initial_delay=0.5, max_delay=5, multiplier=2, jitter=0)
    backoff = Backoff(config)
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.attempt == 7


def test_multiplier_one_is_constant_and_zero_initial_is_immediate() -> None:
    constant = Backoff(ReconnectConfig(initial_delay=2, max_delay=9, multiplier=1, jitter=0))
    assert [constant.next_delay() for _ in range(3)] == [2.0, 2.0, 2.0]
    immediate = Backoff(ReconnectConfig(initial_delay=0, max_delay=1, jitter=0.5))
    assert [immediate.next_delay() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_huge_attempt_numbers_do_not_overflow() -> None:
    config = ReconnectConfig(initial_delay=1, max_delay=30, multiplier=10, jitter=0)
    assert backoff_delay(config, 10_000) == 30.0


def test_attempt_must_be_positive() -> None:
    with pytest.raises(ValueError):
        backoff_delay(ReconnectConfig(), 0)


@given(
    initial=st.floats(0.01, 10),
    extra=st.floats(0, 100),
    multiplier=st.floats(1, 5),
    jitter=st.floats(0, 1),
    attempt=st.integers(1, 60),
    seed=st.integers(0, 2**32),
)
def test_jitter_stays_within_the_fraction(
    initial: float, extra: float, multiplier: float, jitter: float, attempt: int, seed: int
) -> None:
    config = ReconnectConfig(
        initial_delay=initial, max_delay=initial + extra, multiplier=multiplier, jitter=jitter
    )
    base = min(initial + extra, initial * multiplier ** (attempt - 1))
    delay = backoff_delay(config, attempt, random.Random(seed))
    assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9


def test_jitter_spreads_both_ways_and_is_seedable() -> None:
    config = ReconnectConfig(initial_delay=10, max_delay=10, jitter=0.5)
    delays = [backoff_delay(config, 1, random.Random(seed)) for seed in range(200)]
    assert min(delays) < 7 and max(delays) > 13
    assert all(5 <= d <= 15 for d in delays)
    first = [Backoff(config, random.Random(42)).next_delay() for _ in range(2)]
    assert first[0] == first[1]


def test_retry_after_is_a_lower_bound() -> None:
    backoff = Backoff(ReconnectConfig(initial_delay=1, max_delay=4, jitter=0))
    assert backoff.next_delay(retry_after=7.5) == 7.5  # above max_delay: honoured as sent
    assert backoff.next_delay(retry_after=0.5) == 2.0  # below the backoff: backoff wins
    assert backoff.next_delay(retry_after=None) == 4.0


def test_retry_after_comes_from_handshake_rejected() -> None:
    # header names are lower-case, as the handshake parser stores them
    rejected = HandshakeRejected(503, "Service Unavailable", {"retry-after": "12"})
    assert retry_after_of(rejected) == 12.0
    assert retry_after_of(HandshakeRejected(503, "Service Unavailable", {})) is None
    assert retry_after_of(CloseFrame(1013)) is None
    assert retry_after_of(ConnectionFailed("refused")) is None


def test_reset_after_a_connection_that_stayed_up() -> None:
    backoff = Backoff(ReconnectConfig(initial_delay=1, max_delay=60, jitter=0, reset_after=10))
    assert [backoff.next_delay() for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.connection_ended(uptime=9.9)  # flapping: keeps growing
    assert backoff.next_delay() == 8.0
    backoff.connection_ended(uptime=10.0)
    assert backoff.attempt == 0
    assert backoff.next_delay() == 1.0


def test_max_attempts_exhausted() -> None:
    backoff = Backoff(ReconnectConfig(max_attempts=2, jitter=0))
    assert not backoff.exhausted
    backoff.next_delay()
    assert not backoff.exhausted
    backoff.next_delay()
    assert backoff.exhausted
    backoff.reset()
    assert not backoff.exhausted
    unlimited = Backoff(ReconnectConfig(max_attempts=None))
    for _ in range(1000):
        unlimited.next_delay()
    assert not unlimited.exhausted


# --- retry decisions -------------------------------------------------------------------

RETRIED: list[WebSocketError | CloseFrame] = [
    ConnectionFailed("connection refused"),
    ConnectionClosed(1006),
    WebSocketTimeout("connect", 30),
    WebSocketTimeout("heartbeat", 20),
    HandshakeRejected(500, "Internal Server Error", {}),
    HandshakeRejected(502, "Bad Gateway", {}),
    HandshakeRejected(503, "Service Unavailable", {"retry-after": "3"}),
    HandshakeRejected(429, "Too Many Requests", {}),
    ProtocolError("bad frame"),
    CloseFrame(1006),
    CloseFrame(1011, "internal error"),
    CloseFrame(1012, "restart"),
    CloseFrame(1013, "try again later"),
    CloseFrame(1014, "bad gateway"),
    ConnectionClosed(1012, "restart"),
]

NOT_RETRIED: list[WebSocketError | CloseFrame] = [
    HandshakeRejected(400, "Bad Request", {}),
    HandshakeRejected(401, "Unauthorized", {}),
    HandshakeRejected(403, "Forbidden", {}),
    HandshakeRejected(404, "Not Found", {}),
    ConfigError("url", "scheme must be ws or wss"),
    ConnectionFailed("certificate verify failed", recoverable=False),
    CloseFrame(1002),
    CloseFrame(1003),
    CloseFrame(1007),
    CloseFrame(1008, "policy"),
    CloseFrame(1009),
    CloseFrame(1010),
    CloseFrame(1015),
    CloseFrame(4000, "app says go away"),
    ConnectionClosed(1008),
]


@pytest.mark.parametrize("cause", RETRIED, ids=repr)
def test_retried(cause: WebSocketError | CloseFrame) -> None:
    assert is_retryable(cause)
    assert should_retry(cause, ReconnectConfig())


@pytest.mark.parametrize("cause", NOT_RETRIED, ids=repr)
def test_not_retried(cause: WebSocketError | CloseFrame) -> None:
    assert not is_retryable(cause)
    assert not should_retry(cause, ReconnectConfig())


@pytest.mark.parametrize("code", [1000, 1001, 1005])
def test_normal_close_is_configurable(code: int) -> None:
    assert should_retry(CloseFrame(code), ReconnectConfig(retry_on_normal_close=True))
    assert not should_retry(CloseFrame(code), ReconnectConfig(retry_on_normal_close=False))
    assert should_retry(ConnectionClosed(code), ReconnectConfig())


def test_message_too_large_follows_its_recoverable_flag() -> None:
    error = MessageTooLarge(10, 5)
    assert is_retryable(error) is error.recoverable


def test_a_close_we_asked_for_is_never_retried() -> None:
    always = lambda cause: True  # noqa: E731
    for cause in (CloseFrame(1000), CloseFrame(1006), ConnectionFailed("x")):
        assert not should_retry(cause, ReconnectConfig(), closed_by_us=True, hook=always)


def test_reconnect_disabled_never_retries() -> None:
    assert not should_retry(CloseFrame(1006), None, hook=lambda cause: True)


def test_hook_overrides_the_default_both_ways_and_none_defers() -> None:
    config = ReconnectConfig()
    seen: list[object] = []

    def hook(cause: WebSocketError | CloseFrame) -> bool | None:
        seen.append(cause)
        if isinstance(cause, HandshakeRejected) and cause.status == 401:
            return True  # e.g. a token was refreshed
        if isinstance(cause, CloseFrame) and cause.code == 1012:
            return False
        return None

    assert should_retry(HandshakeRejected(401, "Unauthorized", {}), config, hook=hook)
    assert not should_retry(CloseFrame(1012), config, hook=hook)
    assert should_retry(CloseFrame(1006), config, hook=hook)
    assert not should_retry(CloseFrame(1008), config, hook=hook)
    assert len(seen) == 4


def test_hook_is_not_asked_about_config_errors() -> None:
    assert not should_retry(ConfigError("url", "bad"), ReconnectConfig(), hook=lambda c: True)


def test_hook_exceptions_propagate() -> None:
    def hook(cause: WebSocketError | CloseFrame) -> bool | None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        should_retry(CloseFrame(1006), ReconnectConfig(), hook=hook)


def test_as_websocket_error() -> None:
    error = ConnectionFailed("x")
    assert as_websocket_error(error) is error
    refused = as_websocket_error(ConnectionRefusedError(111, "refused"))
    assert isinstance(refused, ConnectionFailed) and refused.recoverable
    assert isinstance(refused.__cause__, ConnectionRefusedError)
    # the platform turns certificate failures into a final ConnectionFailed itself
    # (tests/integration/test_tls.py); from another opener it is one more OSError
    cert = as_websocket_error(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert isinstance(cert, ConnectionFailed) and cert.recoverable
    bug = as_websocket_error(KeyError("oops"))
    assert isinstance(bug, ConnectionFailed) and not bug.recoverable
