"""The browser page around a client under Pyodide: ``navigator.onLine`` and the events of
``window`` (``online``, ``offline``, ``pagehide``, ``pageshow``) and ``document``
(``visibilitychange``, ``freeze``, ``resume``), as a
:class:`omniws.client.environment.Environment`.

Node.js has none of these: :func:`page_environment` returns None there. Each subscription
adds its own listeners (``create_proxy`` objects, kept alive while subscribed) and removes and
destroys every one of them when it ends. An exception from the listener is logged, never let
into JavaScript.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: importing omniws.client here would be circular under Pyodide
    from ..client.environment import PageEvent, PageListener

__all__ = ["BrowserEnvironment", "page_environment"]

logger = logging.getLogger("omniws.wasm")
WINDOW_EVENTS = ("online", "offline", "pagehide", "pageshow")
DOCUMENT_EVENTS = ("visibilitychange", "freeze", "resume")

try:  # present only under Pyodide; typed as Any so that mypy --strict passes on CPython
    _js: Any = importlib.import_module("js")
    _ffi: Any = importlib.import_module("pyodide.ffi")
except ImportError:
    _js = _ffi = None


class BrowserEnvironment:
    """A page's network and lifecycle events (see the module docstring)."""

    def __init__(self, window: Any, document: Any, navigator: Any) -> None:
        self._window, self._document, self._navigator = window, document, navigator

    @property
    def online(self) -> bool:
        """``navigator.onLine``: False means offline for sure; True may be wrong."""
        return bool(self._navigator.onLine)

    def subscribe(self, listener: PageListener) -> Callable[[], None]:
        """Listen until the returned function is called; it removes every listener."""
        added: list[tuple[Any, str, Any]] = []
        targets = [(self._window, WINDOW_EVENTS), (self._document, DOCUMENT_EVENTS)]
        for target, names in targets:
            for name in names:
                proxy = _ffi.create_proxy(self._translate(name, listener))
                target.addEventListener(name, proxy)
                added.append((target, name, proxy))

        def unsubscribe() -> None:
            while added:
                target, name, proxy = added.pop()
                target.removeEventListener(name, proxy)
                proxy.destroy()

        return unsubscribe

    def _translate(self, name: str, listener: PageListener) -> Callable[[Any], None]:
        def on_event(event: Any) -> None:
            try:
                page_event: PageEvent | None
                if name == "visibilitychange":
                    visible = str(self._document.visibilityState) == "visible"
                    page_event = "visible" if visible else "hidden"
                elif name == "pageshow":  # only a page restored from the back/forward cache
                    page_event = "pageshow" if bool(getattr(event, "persisted", False)) else None
                else:
                    page_event = name  # type: ignore[assignment]  # one of WINDOW/DOCUMENT_EVENTS
                if page_event is not None:
                    listener(page_event)
            except BaseException:  # nothing may escape into JavaScript
                logger.exception("omniws.wasm: the %s listener failed", name)

        return on_event


def page_environment() -> BrowserEnvironment | None:
    """The page's environment in a browser; None in Node.js (no ``window``/``document``)."""
    if _js is None:
        return None
    window = getattr(_js, "window", None)
    document = getattr(_js, "document", None)
    navigator = getattr(_js, "navigator", None)
    if window is None or document is None or navigator is None:
        return None
    if not hasattr(window, "addEventListener") or not hasattr(document, "addEventListener"):
        return None
    return BrowserEnvironment(window, document, navigator)
