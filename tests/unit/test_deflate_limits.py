"""permessage-deflate (RFC 7692) codec: size limits, bombs and edge cases of inflating."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import pytest
from test_deflate_codec import pair, split

from omniws.errors import MessageTooLarge, ProtocolError
from omniws.protocol.deflate import PerMessageDeflate

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20

# --- size limits and bombs -------------------------------------------------------------------


def zero_bomb(inflated_mib: int) -> bytes:
    """Deflate data that inflates to `inflated_mib` MiB of zeros (ratio about 1030:1).

    4 MiB compress to 4 KiB; sync-flushed chunks concatenate into one valid stream.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    chunk = compressor.compress(bytes(4 * MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return (chunk * (inflated_mib // 4))[:-4]


def test_exact_limit_passes_one_more_byte_fails() -> None:
    sender, receiver = pair(False, 15)
    message = b"abc" * 10_000
    assert receiver.decompress(sender.compress(message), True, len(message)) == message
    with pytest.raises(MessageTooLarge) as info:
        receiver.decompress(sender.compress(message), True, len(message) - 1)
    assert info.value.size == len(message) and info.value.max_size == len(message) - 1
    assert info.value.close_code == 1009


def test_limit_counts_the_whole_message_across_frames() -> None:
    sender, receiver = pair(False, 15)
    message = bytes(range(256)) * 100  # 25600 bytes
    frames = split(sender.compress(message), [50, 100, 150, 200])
    assert len(frames) == 5
    got = [receiver.decompress(f, i == 4, len(message)) for i, f in enumerate(frames)]
    assert b"".join(got) == message
    frames = split(sender.compress(message), [50, 100, 150, 200])
    with pytest.raises(MessageTooLarge):
        for i, f in enumerate(frames):
            receiver.decompress(f, i == 4, len(message) - 1)


def test_small_bomb_is_refused() -> None:
    bomb = zero_bomb(4)
    assert len(bomb) < 5000
    with pytest.raises(MessageTooLarge) as info:
        PerMessageDeflate().decompress(bomb, True, MiB)
    assert info.value.size == MiB + 1


@pytest.mark.parametrize("fragmented", [False, True])
def test_gigabyte_bomb_stays_within_memory(fragmented: bool) -> None:
    bomb = zero_bomb(1024)  # 1 MiB of deflate data -> 1 GiB; deflate cannot do better than ~1030:1
    frames = split(bomb, list(range(4096, len(bomb), 4096))) if fragmented else [bomb]
    receiver = PerMessageDeflate()
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooLarge):
            for i, frame in enumerate(frames):
                receiver.decompress(frame, i == len(frames) - 1, MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, peak
    if fragmented:
        assert i < 300  # refused after about 1 MiB of output, not at the end of the stream


def test_no_limit_when_max_size_is_none() -> None:
    sender, receiver = pair(False, 15)
    message = bytes(3 * MiB)
    assert receiver.decompress(sender.compress(message), True, None) == message


def test_repr_names_the_negotiated_parameters() -> None:
    text = repr(PerMessageDeflate(server_no_context_takeover=True, client_max_window_bits=9))
    assert "server_no_context_takeover=True" in text and "client_max_window_bits=9" in text


# --- edges found by mutation testing (docs/MUTATION.md) --------------------------------------


def test_codec_defaults() -> None:
    codec = PerMessageDeflate()
    assert (codec.level, codec.mem_level, codec.threshold) == (6, 8, 128)
    assert (codec.client_max_window_bits, codec.server_max_window_bits) == (15, 15)


def reference(data: bytes, level: int, bits: int, mem_level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -bits, mem_level)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


@pytest.mark.parametrize(
    ("options", "zlib_args"),
    [
        ({"mem_level": 1}, (6, 15, 1)),
        ({"level": 1, "mem_level": 9}, (1, 15, 9)),
        ({"client_max_window_bits": 9}, (6, 9, 8)),
        ({"client_max_window_bits": 8}, (6, 9, 8)),  # zlib has no raw 8-bit window
        ({"client_max_window_bits": 12}, (6, 12, 8)),
    ],
)
def test_compressor_uses_the_negotiated_settings(
    options: dict[str, int], zlib_args: tuple[int, int, int]
) -> None:
    data = b" ".join(b"%d:%x" % (i, i * 7919 % 1000) for i in range(20_000))
    assert PerMessageDeflate(**options).compress(data) == reference(data, *zlib_args)  # type: ignore[arg-type]


def test_small_final_frame_is_inflated_within_the_limit() -> None:
    bomb = zero_bomb(4)[:1500]  # a final frame under 2048 bytes worth about 1.5 MiB
    with pytest.raises(MessageTooLarge) as info:
        PerMessageDeflate().decompress(bomb, True, 64 * 1024)
    assert info.value.size == 64 * 1024 + 1


def test_message_filling_the_limit_in_a_non_final_frame() -> None:
    sender, receiver = pair(False, 15)
    message = bytes(range(256)) * 40
    data = sender.compress(message)
    assert receiver.decompress(data, False, len(message)) == message
    assert receiver.decompress(b"", True, len(message)) == b""


def test_consecutive_messages_each_get_the_whole_limit() -> None:
    sender, receiver = pair(False, 15)
    message = b"0123456789" * 100
    for _ in range(3):
        assert receiver.decompress(sender.compress(message), True, len(message)) == message


def test_after_a_refusal_the_next_message_gets_the_whole_limit() -> None:
    sender, receiver = pair(True, 15)
    with pytest.raises(MessageTooLarge):
        receiver.decompress(sender.compress(bytes(5000)), True, 4000)
    assert receiver.decompress(sender.compress(bytes(4000)), True, 4000) == bytes(4000)


def test_after_invalid_data_the_next_message_gets_the_whole_limit() -> None:
    sender, receiver = pair(True, 15)
    with pytest.raises(ProtocolError):
        receiver.decompress(b"\xff\xff\xff\xff", True, 4000)
    assert receiver.decompress(sender.compress(bytes(4000)), True, 4000) == bytes(4000)


def stored(content: bytes, announced: int | None = None) -> bytes:
    """A non-final stored deflate block; ``announced`` lets the content come later."""
    size = len(content) if announced is None else announced
    return b"\x00" + struct.pack("<HH", size, size ^ 0xFFFF) + content


CONTENT = bytes(range(256)) * 12  # 3072 bytes: a final frame this long takes the large path


@pytest.mark.parametrize("size", [100, len(CONTENT)])
def test_tail_that_completes_a_stored_block_counts(size: int) -> None:
    # a server's message whose last stored block is filled by the 00 00 ff ff we append
    data = stored(CONTENT[:size]) + stored(b"", announced=4)
    expected = CONTENT[:size] + TAIL
    assert PerMessageDeflate().decompress(data, True, None) == expected
    assert PerMessageDeflate().decompress(data, True, len(expected)) == expected
    with pytest.raises(MessageTooLarge) as info:
        PerMessageDeflate().decompress(data, True, len(expected) - 2)
    assert (info.value.size, info.value.max_size) == (len(expected) - 1, len(expected) - 2)
