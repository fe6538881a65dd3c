from collections.abc import Callable

def mask(payload: bytes | bytearray | memoryview, key: bytes, /) -> bytes: ...
def encode_frame(
    opcode: int,
    payload: bytes | bytearray | memoryview,
    key: bytes | None,
    /,
    *,
    fin: bool = True,
    rsv1: bool = False,
) -> bytes: ...

class FrameDecoder:
    on_frame: Callable[[int, bytes], None]
    max_payload: int | None
    allow_rsv1: bool
    expect_masked: bool
    frame_budget: int | None
    def __init__(
        self,
        on_frame: Callable[[int, bytes], None],
        *,
        max_payload: int | None = None,
        allow_rsv1: bool = False,
        expect_masked: bool = False,
        frame_budget: int | None = None,
    ) -> None: ...
    @property
    def buffered(self) -> int: ...
    def feed(self, data: bytes, /) -> bool: ...
