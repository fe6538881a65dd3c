"""Options that add rows or change the connection, kept apart from the runner's scheduling:
``--tls`` (every workload over wss://) and ``--omniws-transport`` (which transport omniws
opens its connections with; ``both`` adds rows for the standard library's beside the default).

A row label ending in ``STDLIB`` runs omniws with ``OMNIWS_TRANSPORT=asyncio``.
"""

from __future__ import annotations

import argparse
from typing import Any

STDLIB = "[stdlib]"
TRANSPORT_NOTE = (
    "omniws rows use its default transport (aiofastnet when installed, see "
    "omniws._platform.transport()); rows ending in [stdlib] force OMNIWS_TRANSPORT=asyncio"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tls", action="store_true", help="every workload over wss:// (trustme CA)"
    )
    parser.add_argument(
        "--omniws-transport",
        choices=["auto", "asyncio", "fast", "both"],
        default="auto",
        help="omniws' transport (OMNIWS_TRANSPORT); both: add [stdlib] rows beside auto",
    )


def expand(labels: list[str], args: argparse.Namespace) -> list[str]:
    """The rows: with ``--omniws-transport both`` each omniws row gets a [stdlib] twin."""
    if args.omniws_transport != "both":
        return labels
    out: list[str] = []
    for label in labels:
        out.append(label)
        if label in ("omniws", "omniws-handler"):  # the async rows
            out.append(label + STDLIB)
    return out


def base_label(label: str) -> str:
    """The label without the transport suffix (what the worker's client understands)."""
    return label.removesuffix(STDLIB)


def env_for(label: str, args: argparse.Namespace) -> dict[str, str]:
    """Environment variables for the worker measuring ``label``."""
    if not label.startswith("omniws"):
        return {}
    if label.endswith(STDLIB):
        return {"OMNIWS_TRANSPORT": "asyncio"}
    if args.omniws_transport in ("asyncio", "fast"):
        return {"OMNIWS_TRANSPORT": args.omniws_transport}
    return {}


def server_args(tls_dir: str | None) -> list[str]:
    return ["--tls", tls_dir] if tls_dir else []


def client_params(tls_dir: str | None) -> dict[str, Any]:
    return {"ca": tls_dir} if tls_dir else {}
