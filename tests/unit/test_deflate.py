"""permessage-deflate (RFC 7692) negotiation: the offer, header parsing and the answer.

The codec is tested in test_deflate_codec.py, its size limits in test_deflate_limits.py."""

from __future__ import annotations

import dataclasses

import pytest

from omniws.config import CompressionConfig
from omniws.errors import ProtocolError
from omniws.protocol.deflate import (
    DeflateParams,
    accept,
    offer,
    parse_extensions,
)

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


# --- offer ---------------------------------------------------------------------------------


def test_params_mirror_the_compression_config() -> None:
    # the opening code converts with DeflateParams(**asdict(CompressionConfig)): same fields
    def fields(cls: type) -> list[tuple[str, object]]:
        return [(f.name, f.default) for f in dataclasses.fields(cls)]

    assert fields(DeflateParams) == fields(CompressionConfig)
    assert dataclasses.asdict(DeflateParams(**dataclasses.asdict(CompressionConfig(level=1)))) == (
        dataclasses.asdict(CompressionConfig(level=1))
    )


def test_offer_15_sends_bare_client_max_window_bits() -> None:
    assert offer(DeflateParams(client_max_window_bits=15)) == (
        "permessage-deflate; client_max_window_bits"
    )
    assert offer(DeflateParams()) == "permessage-deflate; client_max_window_bits=14"


def test_offer_every_parameter() -> None:
    config = DeflateParams(
        client_max_window_bits=10,
        server_max_window_bits=12,
        client_no_context_takeover=True,
        server_no_context_takeover=True,
    )
    assert offer(config) == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=12; client_max_window_bits=10"
    )


def test_offer_without_client_max_window_bits() -> None:
    assert offer(DeflateParams(client_max_window_bits=None)) == "permessage-deflate"


def test_offer_parses_back() -> None:
    config = DeflateParams(
        server_max_window_bits=9, client_no_context_takeover=True, client_max_window_bits=15
    )
    assert parse_extensions([offer(config)]) == [
        (
            "permessage-deflate",
            [
                ("client_no_context_takeover", None),
                ("server_max_window_bits", "9"),
                ("client_max_window_bits", None),
            ],
        )
    ]


# --- header parsing --------------------------------------------------------------------------


def test_parse_lists_lines_quotes_and_whitespace() -> None:
    parsed = parse_extensions(
        [' foo ;a=1 ; b = "x\\"y" , , bar', "", '  PerMessage-Deflate;Client_Max_Window_Bits="9"']
    )
    assert parsed == [
        ("foo", [("a", "1"), ("b", 'x"y')]),
        ("bar", []),
        ("permessage-deflate", [("client_max_window_bits", "9")]),
    ]


def test_parse_comma_inside_quoted_string() -> None:
    assert parse_extensions(['x; a="1,2", y']) == [("x", [("a", "1,2")]), ("y", [])]


@pytest.mark.parametrize(
    "value",
    [
        "permessage-deflate; ",
        "permessage-deflate;;",
        "permessage-deflate x",
        "permessage-deflate; a=",
        'permessage-deflate; a="unterminated',
        "permessage-deflate; a=b=c",
        "=permessage-deflate",
        "permessage-deflate; a=(1)",
    ],
)
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(ProtocolError, match="malformed Sec-WebSocket-Extensions") as info:
        parse_extensions([value])
    assert info.value.close_code == 1002


# --- accept ----------------------------------------------------------------------------------


def test_accept_plain() -> None:
    pmd = accept(["permessage-deflate"], DeflateParams(threshold=7))
    assert pmd is not None
    assert (pmd.client_no_context_takeover, pmd.server_no_context_takeover) == (False, False)
    assert (pmd.client_max_window_bits, pmd.server_max_window_bits) == (14, 15)  # we offered 14
    assert (pmd.threshold, pmd.mem_level) == (7, 5)


@pytest.mark.parametrize("values", [[], [""], [" , "]])
def test_accept_no_extension_means_declined(values: list[str]) -> None:
    assert accept(values, DeflateParams()) is None


def test_accept_applies_every_parameter() -> None:
    config = DeflateParams(client_max_window_bits=15, server_max_window_bits=12)
    pmd = accept(
        [
            "",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            'server_max_window_bits=10; client_max_window_bits="9"',
        ],
        config,
    )
    assert pmd is not None
    assert pmd.server_no_context_takeover and pmd.client_no_context_takeover
    assert (pmd.server_max_window_bits, pmd.client_max_window_bits) == (10, 9)


@pytest.mark.parametrize(
    ("answer", "attribute", "expected"),
    [
        ("server_no_context_takeover", "server_no_context_takeover", True),
        ("client_no_context_takeover", "client_no_context_takeover", True),
        ("server_max_window_bits=9", "server_max_window_bits", 9),
        ("client_max_window_bits=8", "client_max_window_bits", 8),
        ("client_max_window_bits=15", "client_max_window_bits", 15),
    ],
)
def test_accept_each_parameter(answer: str, attribute: str, expected: object) -> None:
    pmd = accept([f"permessage-deflate; {answer}"], DeflateParams(client_max_window_bits=15))
    assert pmd is not None and getattr(pmd, attribute) == expected


def test_accept_server_max_window_bits_unasked() -> None:
    pmd = accept(["permessage-deflate; server_max_window_bits=8"], DeflateParams())
    assert pmd is not None and pmd.server_max_window_bits == 8


def test_accept_keeps_our_own_limits() -> None:
    # we offered client_max_window_bits=10: a larger answer cannot make us use more
    config = DeflateParams(client_max_window_bits=10, client_no_context_takeover=True)
    pmd = accept(["permessage-deflate; client_max_window_bits=12"], config)
    assert pmd is not None
    assert pmd.client_max_window_bits == 10
    assert pmd.client_no_context_takeover  # we may always drop our own context


def test_accept_lenient_on_unconfirmed_server_requests() -> None:
    config = DeflateParams(server_max_window_bits=10, server_no_context_takeover=True)
    pmd = accept(["permessage-deflate"], config)
    assert pmd is not None
    assert pmd.server_max_window_bits == 15 and not pmd.server_no_context_takeover


@pytest.mark.parametrize(
    ("values", "config", "problem"),
    [
        (["x-webkit-deflate-frame"], DeflateParams(), "'x-webkit-deflate-frame', which we"),
        (["permessage-deflate, foo"], DeflateParams(), "'foo', which we did not offer"),
        (["permessage-deflate", "permessage-deflate"], DeflateParams(), "appears 2 times"),
        (["permessage-deflate; mystery"], DeflateParams(), "unknown parameter 'mystery'"),
        (["permessage-deflate; mystery=1"], DeflateParams(), "unknown parameter 'mystery'"),
        (
            ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            DeflateParams(),
            "server_no_context_takeover appears twice",
        ),
        (
            ["permessage-deflate; client_max_window_bits=9; client_max_window_bits=9"],
            DeflateParams(),
            "client_max_window_bits appears twice",
        ),
        (
            ["permessage-deflate; server_no_context_takeover=1"],
            DeflateParams(),
            "server_no_context_takeover takes no value",
        ),
        (
            ['permessage-deflate; client_no_context_takeover=""'],
            DeflateParams(),
            "client_no_context_takeover takes no value",
        ),
        (["permessage-deflate; server_max_window_bits"], DeflateParams(), "needs a value"),
        (["permessage-deflate; client_max_window_bits"], DeflateParams(), "needs a value"),
        (["permessage-deflate; server_max_window_bits=7"], DeflateParams(), "'7' is not"),
        (["permessage-deflate; server_max_window_bits=16"], DeflateParams(), "'16' is not"),
        (["permessage-deflate; server_max_window_bits=010"], DeflateParams(), "'010' is"),
        (["permessage-deflate; client_max_window_bits=1a"], DeflateParams(), "'1a' is not"),
        (['permessage-deflate; client_max_window_bits=" 9"'], DeflateParams(), "' 9' is"),
        (
            ["permessage-deflate; client_max_window_bits=10"],
            DeflateParams(client_max_window_bits=None),
            "client_max_window_bits answered, but we did not offer it",
        ),
        (
            ["permessage-deflate; server_max_window_bits=11"],
            DeflateParams(server_max_window_bits=10),
            "server_max_window_bits=11 is larger than the 10 we asked for",
        ),
    ],
)
def test_accept_rejects(values: list[str], config: DeflateParams, problem: str) -> None:
    with pytest.raises(ProtocolError) as info:
        accept(values, config)
    assert problem in str(info.value)
    assert info.value.close_code == 1010


def test_accept_rejects_bad_syntax_with_1002() -> None:
    with pytest.raises(ProtocolError) as info:
        accept(["permessage-deflate; server_max_window_bits=(9)"], DeflateParams())
    assert info.value.close_code == 1002


# --- edges found by mutation testing (docs/MUTATION.md) --------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a b", "malformed Sec-WebSocket-Extensions header 'a b' at character 1"),
        ("=a", "malformed Sec-WebSocket-Extensions header '=a' at character 0"),
        ("a, =b", "malformed Sec-WebSocket-Extensions header 'a, =b' at character 2"),
        ("a; b c", "malformed Sec-WebSocket-Extensions header 'a; b c' at character 4"),
    ],
)
def test_syntax_errors_quote_the_line_and_position(value: str, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_extensions([value])
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("name", ["server_max_window_bits", "client_max_window_bits"])
def test_bad_window_names_the_parameter(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        accept([f"permessage-deflate; {name}=16"], DeflateParams())
    assert f"{name}='16' is not a window size from 8 to 15" in str(info.value)


def test_server_window_equal_to_the_one_asked_for() -> None:
    pmd = accept(
        ["permessage-deflate; server_max_window_bits=10"], DeflateParams(server_max_window_bits=10)
    )
    assert pmd is not None and pmd.server_max_window_bits == 10


def test_accept_passes_level_and_mem_level_on() -> None:
    pmd = accept(["permessage-deflate"], DeflateParams(level=1, mem_level=2, threshold=3))
    assert pmd is not None and (pmd.level, pmd.mem_level, pmd.threshold) == (1, 2, 3)
