"""wss:// for the benchmarks (``--tls``): a throwaway CA (trustme), the server's certificate
for 127.0.0.1, and the client context every client library gets.

The runner writes ``ca.pem``, ``cert.pem`` and ``key.pem`` into a temporary directory, the
server loads the pair, and each worker trusts ``ca.pem`` (``Params.ca``). TLS 1.3 with the
library defaults on both sides: the figure includes what a user pays for encryption.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["client_context", "make_certificates", "server_context"]


def make_certificates() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory with ``ca.pem``, ``cert.pem`` and ``key.pem`` (for 127.0.0.1)."""
    import trustme

    folder = tempfile.TemporaryDirectory(prefix="omniws-bench-tls-")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    root = Path(folder.name)
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(root / "cert.pem"), append=True)
    return folder


def server_context(folder: str) -> ssl.SSLContext:
    """The server's TLS context from the files :func:`make_certificates` wrote."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(Path(folder) / "cert.pem"), str(Path(folder) / "key.pem"))
    return context


def client_context(params: Any) -> ssl.SSLContext | None:
    """The client's context for a wss:// URL (trusting the benchmark CA), else None."""
    if not str(params.url).startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=str(Path(params.ca) / "ca.pem"))
