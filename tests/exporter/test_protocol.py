"""The Exporter wire format: framing, values, messages (no sockets)."""

from __future__ import annotations

import pytest

from HardwareRepository.Command.exporter.protocol import (
    EventMessage,
    FrameDecoder,
    FrameError,
    ReplyKind,
    ReplyMessage,
    Request,
    encode_frame,
    format_value,
    parse_message,
    parse_value,
    request_text,
)


def test_a_frame_split_anywhere_is_decoded_once_complete():
    frame = encode_frame("RET:12.5")
    for cut in range(1, len(frame)):
        decoder = FrameDecoder()
        assert decoder.feed(frame[:cut]) == []
        assert decoder.feed(frame[cut:]) == ["RET:12.5"]


def test_two_frames_in_one_read_come_out_in_order():
    decoder = FrameDecoder()
    data = encode_frame("RET:1") + encode_frame("EVT:State\tReady\t1000")
    assert decoder.feed(data) == ["RET:1", "EVT:State\tReady\t1000"]


def test_an_oversized_frame_is_skipped_and_the_next_one_decoded():
    decoder = FrameDecoder(max_frame=10)
    out = decoder.feed(b"\x02RET:" + b"x" * 30)
    assert out == []
    out = decoder.feed(b"yyy\x03" + encode_frame("RET:ok"))
    assert isinstance(out[0], FrameError)
    assert "larger than 10 bytes" in str(out[0])
    assert out[0].answers_request
    assert out[1] == "RET:ok"


def test_a_frame_that_is_not_utf8_is_an_error_and_the_stream_goes_on():
    decoder = FrameDecoder()
    out = decoder.feed(b"\x02RET:\xff\xfe\x03" + encode_frame("NULL"))
    assert isinstance(out[0], FrameError)
    assert "not UTF-8" in str(out[0])
    assert out[1] == "NULL"


def test_bytes_outside_frames_are_reported_but_answer_no_request():
    out = FrameDecoder().feed(b"junk" + encode_frame("RET:1"))
    assert isinstance(out[0], FrameError)
    assert not out[0].answers_request
    assert out[1] == "RET:1"


def test_a_frame_cut_by_a_new_stx_is_an_error():
    out = FrameDecoder().feed(b"\x02RET:12" + encode_frame("RET:3"))
    assert isinstance(out[0], FrameError)
    assert out[1] == "RET:3"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (2.5, "2.5"),
        (True, "true"),
        ("Ready", "Ready"),
        ([1, 2], "\x1f1\x1f2\x1f"),
        ((), "\x1f"),
    ],
)
def test_values_round_trip(value, text):
    assert format_value(value) == text
    expected = list(value) if isinstance(value, tuple) else value
    assert parse_value(text) == expected


def test_arrays_of_text_and_of_floats():
    assert parse_value("\x1fOmega=Ready\x1fPhi=Moving\x1f") == [
        "Omega=Ready",
        "Phi=Moving",
    ]
    assert parse_value("\x1f-5.0\x1f240\x1f") == [-5.0, 240.0]


def test_a_value_with_a_separator_is_refused():
    with pytest.raises(ValueError, match="cannot carry"):
        format_value("a\tb")


def test_requests_as_written_on_the_wire():
    assert request_text(Request.EXEC, "startSetPhase", ["Centring"]) == (
        "EXEC startSetPhase Centring\t"
    )
    assert request_text(Request.EXEC, "abort") == "EXEC abort "
    assert request_text(Request.READ, "OmegaPosition") == "READ OmegaPosition"
    assert request_text(Request.WRTE, "OmegaPosition", [1.5]) == (
        "WRTE OmegaPosition 1.5"
    )
    assert request_text(Request.NAME) == "NAME"
    with pytest.raises(ValueError, match="invalid Exporter name"):
        request_text(Request.READ, "bad name")


def test_messages():
    assert parse_message("RET:5") == ReplyMessage(ReplyKind.RET, "5")
    assert parse_message("ERR:no such method") == ReplyMessage(
        ReplyKind.ERR, "no such method"
    )
    assert parse_message("NULL") == ReplyMessage(ReplyKind.NULL, None)
    assert parse_message("EVT:State\tReady\t1500") == EventMessage(
        "State", "Ready", 1.5
    )
    with pytest.raises(FrameError, match="malformed event"):
        parse_message("EVT:State\tReady")
    with pytest.raises(FrameError, match="unknown message"):
        parse_message("HELLO")
