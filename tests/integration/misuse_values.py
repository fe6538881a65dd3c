"""Wrong arguments for any callable, derived from its signature and type hints.

``arguments(func)`` is a Hypothesis strategy of ``Misuse`` records: one parameter gets a
wrong or edge value (None, bytes for str, negative or huge ints, nan and inf, foreign
objects, lone surrogates, oversized payloads), the others keep their defaults or a value
from ``required``. ``matches(value, hint)`` tells whether the value had the annotated type,
so a test can insist that a wrongly typed value is refused. Used by test_misuse*.py.
"""

from __future__ import annotations

import collections.abc
import inspect
import math
import sys
import types
import typing
from dataclasses import dataclass, field, is_dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

# Values every parameter is tried with, whatever its type.
EDGE_VALUES: list[object] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, -(2**70), 1.5, -0.5, math.nan, math.inf,
    -math.inf, 1j, "", "x", "\ud800", "a\r\nb\x00", "é" * 100, b"", b"x", b"\xff" * 200,
    bytearray(b"ab"), memoryview(b"ab"), [], ["x"], ("x", 1), {}, {"a": 1}, {1: b""},
    object(), int, timedelta(seconds=-1), timedelta(days=10**6), print,
]


@dataclass
class Misuse:
    """One call: the keyword arguments, which one is misused, and whether its type fits."""

    kwargs: dict[str, Any]
    name: str
    value: Any
    type_ok: bool
    hint: Any = field(repr=False)


def hints_of(func: Any) -> dict[str, Any]:
    """The resolved type hints of ``func``; an annotation that cannot be resolved is Any."""
    try:
        return typing.get_type_hints(func)
    except NameError:  # a TYPE_CHECKING-only name: resolve one annotation at a time
        module = sys.modules.get(getattr(func, "__module__", ""), None)
        namespace = {**vars(typing), **(vars(module) if module else {})}
        resolved = {}
        for name, annotation in getattr(func, "__annotations__", {}).items():

            def shim() -> None: ...

            shim.__annotations__ = {name: annotation}
            try:
                resolved[name] = typing.get_type_hints(shim, globalns=namespace)[name]
            except NameError:
                resolved[name] = Any
        return resolved


def matches(value: object, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` describes (as a type checker would allow)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    if isinstance(hint, typing.TypeVar):
        return hint.__bound__ is None or matches(value, hint.__bound__)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin is collections.abc.Callable or hint is collections.abc.Callable:
        return callable(value)
    if origin in (collections.abc.Sequence, list, tuple):
        if not isinstance(value, origin) or isinstance(value, (str, bytes)):
            return False
        return not args or all(matches(item, args[0]) for item in value)
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, collections.abc.Mapping):
            return False
        return all(matches(k, args[0]) and matches(v, args[1]) for k, v in value.items())
    if origin is not None:
        return isinstance(value, origin)
    if hint is float:  # PEP 484: an int is a float
        return isinstance(value, (int, float))
    if hint is bytes:  # bytes-like, as mypy promotes bytearray and memoryview
        return isinstance(value, (bytes, bytearray, memoryview))
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation this helper does not understand: no claim


def values_for(name: str, hint: Any) -> st.SearchStrategy[Any]:
    """Wrong and edge values for one parameter: the fixed pool plus generated ones."""
    generated: st.SearchStrategy[Any] = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.binary(max_size=300),
        st.text(max_size=150),
    )
    if name in ("url", "config"):  # no host names: nothing may leave the machine
        generated = st.text(max_size=40).filter(lambda s: "//" not in s)
    return st.one_of(st.sampled_from(EDGE_VALUES), generated)


def arguments(
    func: Any,
    *,
    required: dict[str, Any] | None = None,
    skip: tuple[str, ...] = ("self",),
    extra: dict[str, Any] | None = None,
) -> st.SearchStrategy[Misuse]:
    """Calls of ``func`` with one parameter misused (see the module docstring).

    ``required`` gives valid values to parameters without a default; ``extra`` adds
    keyword parameters (name -> hint) that ``**kwargs`` accepts.
    """
    required = required or {}
    if isinstance(func, type) and not is_dataclass(func):
        func = func.__init__  # type: ignore[misc]  # the constructor, not the class
    hints = hints_of(func)
    params = {}
    for name, param in inspect.signature(func).parameters.items():
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        params[name] = hints.get(name, Any)
    params.update(extra or {})
    if not params:
        raise ValueError(f"{func!r} takes no parameter to misuse")

    @st.composite
    def build(draw: st.DrawFn) -> Misuse:
        name = draw(st.sampled_from(sorted(params)))
        hint = params[name]
        value = draw(values_for(name, hint))
        kwargs = {k: v for k, v in required.items() if k != name}
        kwargs[name] = value
        return Misuse(kwargs, name, value, matches(value, hint), hint)

    return build()
