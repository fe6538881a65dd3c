"""The message each connection of the many workload exchanges when compression is on
(``--compression --workloads many``): one 1 KiB JSON text message, sent and echoed, so the
RSS per connection includes the compressor and decompressor state a real feed would keep.
"""

from __future__ import annotations

import json
import random


def _json_message(size: int = 1024) -> str:
    """Trades as a feed sends them, padded to exactly ``size`` bytes; valid JSON."""
    rng = random.Random(7)  # the same message for every client and run
    rows: list[dict[str, object]] = []
    while True:
        row = {
            "id": rng.randrange(10**9),
            "symbol": rng.choice(["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]),
            "price": f"{rng.uniform(1, 70000):.2f}",
            "qty": f"{rng.random() * 5:.5f}",
            "side": rng.choice(["buy", "sell"]),
            "ts": 1_700_000_000_000 + rng.randrange(10**6),
        }
        bare = json.dumps({"type": "trades", "data": [*rows, row], "note": ""})
        if len(bare) > size:
            text = json.dumps({"type": "trades", "data": rows, "note": ""})
            return text[:-2] + "-" * (size - len(text)) + '"}'
        rows.append(row)


JSON_MESSAGE = _json_message()
