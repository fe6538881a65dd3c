"""Every public constructor and method of the async and the sync API, called with wrong arguments.

The arguments come from the signatures and type hints (misuse_values.py): one parameter at
a time gets None, bytes for str, negative or huge ints, nan, inf, foreign objects... Each
call must either succeed or raise a documented error with a message (TypeError, ValueError
such as ConfigError, or a WebSocketError such as WebSocketTimeout or ConnectionClosed); a
value of the wrong type must be refused with TypeError or ValueError. Afterwards the
connection or client must still carry a message both ways, against a real echo server.
Bounded: a fixed number of examples per target, each call within a deadline.

Every front end of misuse_front.FRONT_ENDS (the async and the sync API) runs them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings

import omniws
from omniws.closecodes import check_close

from .misuse_front import FRONT_ENDS, MISUSE_SETTINGS, FrontEnd, check_raised
from .misuse_values import Misuse, arguments, hints_of, matches

pytestmark = pytest.mark.timeout(900)



@dataclass
class Target:
    """One public callable: ``owner`` is the class (or callable) whose signature is used."""

    name: str
    kind: str  # "connection" / "client": a method of the shared subject; "new": a constructor;
    # "fresh-client": a method of a new, unstarted client
    owner: Callable[[type[FrontEnd]], Any]
    required: dict[str, Any] = field(default_factory=dict)
    extra: Callable[[], dict[str, Any]] = dict


def _connect_options() -> dict[str, Any]:
    """The options of omniws.connect() with their hints (the sync connect takes them as
    ``**options``). Not proxy: a bare word is a proxy host name ("abc" -> http://abc:80),
    and nothing may be looked up or reached beyond this machine."""
    hints = hints_of(omniws.WebSocketConfig)
    names = set(inspect.signature(omniws.connect).parameters) - set(NOT_DRAWN)
    return {name: hints[name] for name in sorted(names)}


NOT_DRAWN = ("self", "url", "config", "proxy")


def _client_method(name: str) -> Callable[[type[FrontEnd]], Any]:
    return lambda fe: getattr(fe.WebSocketClient, name)


URL = "<echo url>"  # replaced by the echo server's URL
DECORATORS = ("on_open", "on_message", "on_close", "on_error", "on_state_change")
TARGETS = [
    Target("connect", "new", lambda fe: fe.connect, {"url": URL}, _connect_options),
    Target("WebSocketClient", "new", lambda fe: fe.WebSocketClient, {"config": URL}),
    Target("Connection.send", "connection", lambda fe: fe.Connection.send),
    Target("Connection.send_nowait", "connection", lambda fe: fe.Connection.send_nowait),
    Target("Connection.ping", "connection", lambda fe: fe.Connection.ping),
    Target("Connection.close", "connection", lambda fe: fe.Connection.close),
    Target("WebSocketClient.send", "client", lambda fe: fe.WebSocketClient.send),
    Target("WebSocketClient.close", "client", lambda fe: fe.WebSocketClient.close),
    Target(
        "WebSocketClient.wait_connected", "client", lambda fe: fe.WebSocketClient.wait_connected
    ),
    *(
        Target(f"WebSocketClient.{name}", "fresh-client", _client_method(name))
        for name in DECORATORS
    ),
]


@pytest.fixture(scope="module", params=FRONT_ENDS, ids=lambda cls: cls.name)
def front(request: pytest.FixtureRequest, py_server_plain: str) -> Iterator[FrontEnd]:
    front_end = request.param(py_server_plain + "/echo")
    try:
        yield front_end
    finally:
        front_end.shutdown()


def expected_error(target: Target, misuse: Misuse) -> type[BaseException] | None:
    """The error a rule of the API demands for these arguments, beyond the type rule."""
    kwargs = misuse.kwargs
    if target.name.endswith(".close"):
        try:
            check_close(kwargs.get("code", 1000), kwargs.get("reason", ""))
        except (TypeError, ValueError) as exc:
            return type(exc)
    if target.name.endswith(".ping"):
        data = kwargs.get("data")
        if isinstance(data, (bytes, bytearray, memoryview)) and len(data) > 125:
            return ValueError  # a control frame carries at most 125 bytes (RFC 6455 5.5)
    return None


def call(front: FrontEnd, target: Target, misuse: Misuse) -> tuple[Any, BaseException | None]:
    kwargs = {k: front.url if v is URL else v for k, v in misuse.kwargs.items()}
    if target.name == "connect" and misuse.name == "config":
        kwargs.pop("url")  # connect(config=...) alone: the config is what is misused
    if target.kind == "new":
        func = target.owner(type(front))
    elif target.kind == "fresh-client":
        func = getattr(front.WebSocketClient(front.url), target.name.split(".")[1])
    else:
        func = getattr(front.subject(target.kind), target.name.split(".")[1])
    try:
        return front.run(func(**kwargs)), None
    except Exception as exc:
        return None, exc


def check_new(front: FrontEnd, target: Target, misuse: Misuse, result: Any) -> None:
    """A constructor that accepted its arguments gave something that works."""
    if target.name == "connect":
        try:
            front.roundtrip(result)
        except omniws.WebSocketError as exc:  # e.g. max_message_size=1 refuses the echo
            check_raised(exc, f"a round trip after connect({misuse.name}={misuse.value!r})")
        finally:
            front.run(result.close())
    elif misuse.name != "config":  # a client of the echo server: it must connect and echo
        try:
            front.run(result.connect())
            front.roundtrip(result)
        except omniws.WebSocketError as exc:  # e.g. open_connection=print cannot connect
            check_raised(exc, f"connecting WebSocketClient({misuse.name}={misuse.value!r})")
        finally:
            front.run(result.close())


def check_outcome(
    target: Target, misuse: Misuse, what: str, result: Any, exc: BaseException | None
) -> None:
    """The call raised nothing or a documented error, and whatever a rule demands."""
    check_raised(exc, what)
    if not misuse.type_ok:
        assert isinstance(exc, (TypeError, ValueError)), (
            f"{what} accepted a value of the wrong type (expected {misuse.hint}); "
            f"got {result!r}" if exc is None else f"{what} raised {exc!r}"
        )
    wanted = expected_error(target, misuse)
    if wanted is not None:
        assert isinstance(exc, wanted), f"{what} should raise {wanted.__name__}, got {exc!r}"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_misuse(front: FrontEnd, target: Target) -> None:
    if target.name in front.excluded:  # nothing to misuse: check it really is not there
        with pytest.raises(AttributeError):
            target.owner(type(front))
        return
    owner = target.owner(type(front))
    skip = NOT_DRAWN if target.name == "connect" else ("self",)
    strategy = arguments(owner, required=target.required, extra=target.extra(), skip=skip)

    @MISUSE_SETTINGS
    @given(misuse=strategy)
    def check(misuse: Misuse) -> None:
        what = f"{target.name}({misuse.name}={misuse.value!r})"
        result, exc = call(front, target, misuse)
        try:
            check_outcome(target, misuse, what, result, exc)
        except AssertionError:
            if target.kind in ("connection", "client"):
                front.discard(target.kind)  # the next example starts from a working subject
            raise
        if target.kind == "new" and exc is None:
            check_new(front, target, misuse, result)
        elif target.kind in ("connection", "client"):
            if target.name.endswith(".close") and exc is None:
                front.discard(target.kind)  # a valid close: the next example opens anew
            front.healthy(target.kind, what)

    check()


def test_wrong_value_oracle() -> None:
    """matches() tells wrong types from right ones, so the type rule can fail."""
    assert matches("x", omniws.messages.Data) and matches(b"x", bytes | None)
    assert not matches(None, str) and not matches("x", bytes | None)
    assert matches(1, float) and not matches("1", float)
    assert matches(["a"], hints_of(omniws.WebSocketConfig)["protocols"])
    assert not matches([1], hints_of(omniws.WebSocketConfig)["protocols"])
    assert not matches(5, Callable[..., object]) and matches(print, Callable[..., object])

    @given(arguments(omniws.Connection.ping))
    @settings(max_examples=30, database=None)
    def only_ping_data(misuse: Misuse) -> None:
        assert misuse.name == "data" and list(misuse.kwargs) == ["data"]

    only_ping_data()
