"""The async libraries the harness runs a client on: asyncio, or trio (``trio.run``).

A client (conformance/clients.py) names its runner; :func:`run_main` runs the harness's
case loop on it and :func:`bounded` bounds each fetch and echo with that library's own
timeouts (asyncio.wait, trio cancel scopes), so omniws under trio is judged as under asyncio.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from omniws._runtime import under_trio  # which library runs the caller

T = TypeVar("T")
Runner = Literal["asyncio", "trio"]
RUNNERS: tuple[Runner, ...] = ("asyncio", "trio")


def run_main(runner: Runner, main: Callable[..., Coroutine[Any, Any, T]], **kwargs: Any) -> T:
    """``main(**kwargs)`` under ``asyncio.run`` or ``trio.run``."""
    if runner == "trio":
        import trio

        return trio.run(functools.partial(main, **kwargs))
    return asyncio.run(main(**kwargs))


async def bounded(coro: Coroutine[Any, Any, str | None], timeout: float) -> tuple[bool, str | None]:
    """Run ``coro`` with a bound; on timeout cancel it (itself bounded) -> (finished, result).

    An exception ends the coroutine too: its description is the result. Runs under asyncio or
    trio, whichever runs the caller.
    """
    if under_trio():
        return await _bounded_trio(coro, timeout)
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task not in done:
        task.cancel()
        await asyncio.wait({task}, timeout=15)
        return False, None
    try:
        return True, task.result()
    except Exception as exc:
        return True, f"unexpected {type(exc).__name__}: {exc}"


async def _bounded_trio(
    coro: Coroutine[Any, Any, str | None], timeout: float
) -> tuple[bool, str | None]:
    import trio

    # the client's own cleanup on cancellation (omniws's close) is bounded by close_timeout
    with trio.move_on_after(timeout):
        try:
            return True, await coro
        except Exception as exc:
            return True, f"unexpected {type(exc).__name__}: {exc}"
    return False, None
