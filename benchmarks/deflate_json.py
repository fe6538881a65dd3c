"""``python -m benchmarks.deflate_json``: permessage-deflate settings on realistic JSON.

For each candidate ``CompressionConfig`` (the default first), omniws' own codec
(``omniws.protocol.deflate``) compresses three feeds of JSON messages one by one, with
context takeover, and a second codec inflates them: the compression ratio (raw bytes over
compressed), client CPU per message (compress + inflate, the minimum over the repetitions,
interleaved), and the RSS of 300 codecs after one 1 KiB message and after 100 KiB each.
The feeds are generated with a fixed seed: trades (~230 B), order-book updates (~600 B),
chat messages (~250 B).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from omniws import CompressionConfig
from omniws.protocol import deflate

CANDIDATES = {
    "15 bits, memLevel 8 (0.1.0)": CompressionConfig(client_max_window_bits=15, mem_level=8),
    "15 bits, memLevel 5": CompressionConfig(client_max_window_bits=15, mem_level=5),
    "14 bits, memLevel 5 (default)": CompressionConfig(),
    "14 bits, memLevel 4": CompressionConfig(client_max_window_bits=14, mem_level=4),
    "13 bits, memLevel 5": CompressionConfig(client_max_window_bits=13, mem_level=5),
    "12 bits, memLevel 5 (as websockets)": CompressionConfig(
        client_max_window_bits=12, mem_level=5
    ),
}


def feeds(n: int) -> dict[str, list[bytes]]:
    rng = random.Random(1)
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"]
    words = "the of and a to in is you that it he was for on are as with his they at be"
    words_list = words.split()

    def level() -> list[str]:
        return [f"{64000 + rng.uniform(-50, 50):.2f}", f"{rng.random() * 5:.5f}"]

    trades = [
        {"e": "trade", "E": 1_700_000_000_000 + i * 7, "s": rng.choice(symbols), "t": i,
         "p": f"{64000 + rng.random() * 500:.2f}", "q": f"{rng.random() * 3:.4f}",
         "b": rng.randrange(10**9), "a": rng.randrange(10**9), "m": rng.random() < 0.5}
        for i in range(n)
    ]  # fmt: skip
    books = [
        {"stream": "btcusdt@depth", "data": {"e": "depthUpdate", "E": 1_700_000_000_000 + i,
         "U": i * 10, "u": i * 10 + 9, "b": [level() for _ in range(rng.randint(3, 15))],
         "a": [level() for _ in range(rng.randint(3, 15))]}}
        for i in range(n)
    ]  # fmt: skip
    chat = [
        {"type": "message", "id": i, "user": {"id": rng.randrange(5000), "name": f"u{i % 97}"},
         "text": " ".join(rng.choice(words_list) for _ in range(rng.randint(5, 60))), "ts": i}
        for i in range(n)
    ]  # fmt: skip
    return {
        name: [json.dumps(m).encode() for m in msgs]
        for name, msgs in (("trades", trades), ("book", books), ("chat", chat))
    }


def codec(config: CompressionConfig) -> deflate.PerMessageDeflate:
    answer = f"permessage-deflate; client_max_window_bits={config.client_max_window_bits}"
    state = deflate.accept([answer], config)  # what a server answering the offer sends
    if state is None:  # accept returns None only for an empty answer
        raise RuntimeError("no permessage-deflate state")
    return state


def one_pass(config: CompressionConfig, messages: list[bytes]) -> tuple[float, float]:
    """(ratio, CPU µs per message) of compressing and inflating ``messages`` in order."""
    sender, receiver = codec(config), codec(config)
    compressed = 0
    gc.collect()
    t0 = time.process_time()
    for message in messages:
        data = sender.compress(message)
        receiver.decompress(data, True, None)
        compressed += len(data)
    cpu = time.process_time() - t0
    return sum(map(len, messages)) / compressed, cpu / len(messages) * 1e6


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def memory(config: CompressionConfig, messages: list[bytes], count: int = 300) -> float:
    """RSS KiB per (sender, receiver) pair after ``messages`` went through each pair."""
    gc.collect()
    before = rss_kib()
    keep: list[Any] = []
    for _ in range(count):
        sender, receiver = codec(config), codec(config)
        for message in messages:
            receiver.decompress(sender.compress(message), True, None)
        keep.append((sender, receiver))
    gc.collect()
    return (rss_kib() - before) / count


def memory_in_new_process(name: str, which: str) -> float:
    """:func:`memory` in a fresh interpreter, so that no freed memory is reused."""
    command = [sys.executable, "-m", "benchmarks.deflate_json", "--memory", name, which]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    return float(out.stdout.split()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000, help="per feed")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--memory", nargs=2, metavar=("SETTINGS", "one|steady"), help="internal")
    args = parser.parse_args(argv)
    if args.memory:
        name, which = args.memory
        one_kib = [json.dumps({"pad": "x" * 600, "n": list(range(60))}).encode()[:1024]]
        steady = feeds(400)["chat"]  # about 100 KiB
        print(memory(CANDIDATES[name], one_kib if which == "one" else steady))
        return
    data = feeds(args.messages)
    best: dict[tuple[str, str], float] = {}
    ratio: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):
        for name, config in CANDIDATES.items():
            for feed, messages in data.items():
                r, cpu = one_pass(config, messages)
                ratio[name, feed] = r
                best[name, feed] = min(best.get((name, feed), cpu), cpu)
    base = next(iter(CANDIDATES))
    print("| settings | " + " | ".join(f"{f}: ratio, CPU µs/msg" for f in data) + " | RSS KiB "
          "after 1 KiB | after 100 KiB |")  # fmt: skip
    print("|---|" + "---:|" * (len(data) + 2))
    for name in CANDIDATES:
        cells = [
            f"{ratio[name, f]:.2f} ({ratio[name, f] / ratio[base, f] - 1:+.1%}), "
            f"{best[name, f]:.2f} ({best[name, f] / best[base, f] - 1:+.0%})"
            for f in data
        ]
        mem = " | ".join(f"{memory_in_new_process(name, w):.0f}" for w in ("one", "steady"))
        print(f"| {name} | " + " | ".join(cells) + f" | {mem} |")


if __name__ == "__main__":
    main()
