"""Answers that real servers give to our permessage-deflate offer are accepted and work.

The answers below were seen from real servers (websockets, Node ws, and the shapes that
servers tuned for browsers send: no context takeover both ways, reduced windows). For each,
a server-side compressor configured as the answer says must interoperate with us.
"""

from __future__ import annotations

import zlib

import pytest

from omniws.protocol.deflate import DeflateParams, accept

TAIL = b"\x00\x00\xff\xff"
REAL_ANSWERS = [
    # websockets 17 (seen in our integration run)
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    # Node ws 8 with perMessageDeflate: true (it drops a bare client_max_window_bits offer)
    "permessage-deflate",
    # browser-tuned servers (uWebSockets, nginx-fronted apps): no context takeover, small window
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
    'permessage-deflate; client_max_window_bits="15"; server_max_window_bits=15',
    "PerMessage-Deflate; Server_No_Context_Takeover",
]


def server_compressor(answer: str) -> tuple[object, bool]:
    lower = answer.lower()
    bits = 15
    if "server_max_window_bits=" in lower:
        bits = int(lower.split("server_max_window_bits=")[1].split(";")[0].strip('" '))
    return zlib.compressobj(6, zlib.DEFLATED, -max(bits, 9)), "server_no_context_takeover" in lower


@pytest.mark.parametrize("answer", REAL_ANSWERS)
def test_real_answer_is_accepted_and_interoperates(answer: str) -> None:
    deflate = accept([answer], DeflateParams())
    assert deflate is not None
    compressor, reset = server_compressor(answer)
    messages = [b'{"op": "trade", "price": %d, "size": 0.25}' % n * 4 for n in range(20)]
    for message in messages:
        if reset:
            compressor, _ = server_compressor(answer)
        wire = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)  # type: ignore[attr-defined]
        assert wire.endswith(TAIL)
        assert deflate.decompress(wire[:-4], True, 1 << 20) == message
    # and what we send inflates on the server side with the window the answer allows
    lower = answer.lower()
    client_bits = 15
    if "client_max_window_bits=" in lower:
        client_bits = int(lower.split("client_max_window_bits=")[1].split(";")[0].strip('" '))
    inflater = zlib.decompressobj(-max(client_bits, 9))
    for message in messages:
        if "client_no_context_takeover" in lower:
            inflater = zlib.decompressobj(-max(client_bits, 9))
        assert inflater.decompress(deflate.compress(message) + TAIL) == message
