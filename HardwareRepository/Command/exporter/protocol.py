r"""The Exporter wire protocol (MD2/MD3 microdiffractometers, sample changers).

Pure functions and a frame decoder: no sockets, no threads, no hub. Both the
client (:mod:`.client`) and the SIMULATED server
(:mod:`HardwareRepository.demo.md_server`) speak through them.

The facts of the protocol, as mxCuBE's Exporter client speaks it over TCP:

* every message is UTF-8 text framed by STX (0x02) and ETX (0x03);
* requests: ``EXEC <method> <p1>\t<p2>\t`` (synchronous call), ``ASNC`` (the
  same, the server replies at once), ``READ <property>``,
  ``WRTE <property> <value>``, ``LIST`` (methods), ``PLST`` (properties) and
  ``NAME`` (the server object's name);
* replies, one per request and in request order (there is no request id):
  ``RET:<value>``, ``ERR:<message>`` or ``NULL``;
* events pushed by the server at any time: ``EVT:<name>\t<value>\t<ms>`` where
  ``<ms>`` is the server's wall-clock time in milliseconds;
* parameters are separated by TAB; an array value is its items each followed by
  0x1F, after a leading 0x1F (``"\x1f1\x1f2\x1f"`` is ``[1, 2]``); booleans are
  ``true``/``false``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ARRAY_SEPARATOR",
    "ETX",
    "MAX_FRAME_BYTES",
    "PARAMETER_SEPARATOR",
    "STX",
    "EventMessage",
    "FrameDecoder",
    "FrameError",
    "ReplyKind",
    "ReplyMessage",
    "Request",
    "encode_frame",
    "format_value",
    "parse_message",
    "parse_value",
    "request_text",
    "split_parameters",
]

STX = 0x02
ETX = 0x03
PARAMETER_SEPARATOR = "\t"
ARRAY_SEPARATOR = "\x1f"

#: the largest frame accepted, in bytes (what mxCuBE's client allows)
MAX_FRAME_BYTES = 500_000


class Request(str, enum.Enum):
    """The request verbs of the protocol."""

    EXEC = "EXEC"
    ASNC = "ASNC"
    READ = "READ"
    WRTE = "WRTE"
    LIST = "LIST"
    PLST = "PLST"
    NAME = "NAME"


def encode_frame(text: str) -> bytes:
    """Return ``text`` as one STX/ETX frame of UTF-8 bytes."""
    return b"\x02" + text.encode("utf-8") + b"\x03"


def format_value(value: Any) -> str:
    """Return the wire text of one parameter or property value.

    Lists and tuples become arrays, booleans ``true``/``false``, anything else
    ``str(value)``.

    Raises:
        ValueError: the text would contain STX, ETX, TAB or 0x1F, which the
            protocol cannot carry inside a value.
    """
    if isinstance(value, (list, tuple)):
        text = ARRAY_SEPARATOR + "".join(
            _scalar_text(item) + ARRAY_SEPARATOR for item in value
        )
    else:
        text = _scalar_text(value)
    return text


def _scalar_text(value: Any) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    for forbidden in ("\x02", "\x03", PARAMETER_SEPARATOR, ARRAY_SEPARATOR):
        if forbidden in text:
            raise ValueError(
                f"value {value!r} contains {forbidden!r}, which the Exporter "
                "protocol cannot carry"
            )
    return text


def request_text(verb: Request, name: str = "", params: Iterable[Any] = ()) -> str:
    """Return the text of one request (without its frame).

    ``EXEC``/``ASNC`` take the method and its parameters, ``READ`` the
    property, ``WRTE`` the property and exactly one value; ``LIST``, ``PLST``
    and ``NAME`` take nothing.

    Raises:
        ValueError: a name is missing or holds a space or control character,
            or a value cannot be carried (see :func:`format_value`).
    """
    params = list(params)
    if verb in (Request.LIST, Request.PLST, Request.NAME):
        return verb.value
    if not name or any(c in name for c in " \t\x02\x03\x1f"):
        raise ValueError(f"invalid Exporter name {name!r} for {verb.value}")
    if verb is Request.READ:
        return f"READ {name}"
    if verb is Request.WRTE:
        if len(params) != 1:
            raise ValueError(f"WRTE {name} takes one value, got {len(params)}")
        return f"WRTE {name} {format_value(params[0])}"
    text = "".join(format_value(p) + PARAMETER_SEPARATOR for p in params)
    return f"{verb.value} {name} {text}"


def parse_value(text: str | None) -> Any:
    """Return the Python value of wire text (the reverse of :func:`format_value`).

    An array becomes a list of ints, else of floats, else of strings;
    ``true``/``false`` become booleans; a scalar becomes an int, else a float,
    else stays a string. ``None`` stays ``None`` (a ``NULL`` reply).
    """
    if text is None:
        return None
    if ARRAY_SEPARATOR in text:
        inner = text.strip(ARRAY_SEPARATOR)
        items = inner.split(ARRAY_SEPARATOR) if inner else []
        for kind in (int, float):
            try:
                return [kind(item) for item in items]
            except ValueError:
                continue
        return items
    if text == "true":
        return True
    if text == "false":
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


class ReplyKind(enum.Enum):
    """What a reply says: a value, an error, or nothing."""

    RET = "RET"
    ERR = "ERR"
    NULL = "NULL"


@dataclass(frozen=True)
class ReplyMessage:
    """A reply to the oldest request still waiting: ``RET:``, ``ERR:`` or ``NULL``."""

    kind: ReplyKind
    text: str | None


@dataclass(frozen=True)
class EventMessage:
    """An event pushed by the server.

    Attributes:
        name: the property (``"OmegaPosition"``).
        text: the value's wire text (see :func:`parse_value`).
        timestamp: the server's time of the event, seconds since the epoch.
    """

    name: str
    text: str
    timestamp: float


class FrameError(ValueError):
    """A frame that breaks the protocol: not UTF-8, too large, or unknown text."""

    def __init__(self, message: str, *, head: str = "") -> None:
        super().__init__(message)
        #: the first characters of the frame (what it looked like)
        self.head = head

    @property
    def answers_request(self) -> bool:
        """Whether the broken frame stood where a reply was due.

        Bytes outside frames and frames that looked like events do not; any
        other frame took the place of the oldest request's reply.
        """
        return bool(self.head) and not self.head.startswith("EVT:")


def parse_message(text: str) -> ReplyMessage | EventMessage:
    """Return what one decoded frame says.

    Raises:
        FrameError: the text is neither a reply nor a well-formed event.
    """
    if text.startswith("RET:"):
        return ReplyMessage(ReplyKind.RET, text[4:])
    if text.startswith("ERR:"):
        return ReplyMessage(ReplyKind.ERR, text[4:])
    if text == "NULL":
        return ReplyMessage(ReplyKind.NULL, None)
    if text.startswith("EVT:"):
        fields = text[4:].split(PARAMETER_SEPARATOR)
        if len(fields) == 3 and fields[0]:
            try:
                stamp = int(fields[2]) / 1000.0
            except ValueError:
                pass
            else:
                return EventMessage(fields[0], fields[1], stamp)
        raise FrameError(f"malformed event {text[:80]!r}", head=text[:80])
    raise FrameError(f"unknown message {text[:80]!r}", head=text[:80])


class FrameDecoder:
    """Cut a byte stream into frames; keep what is incomplete for the next call.

    Not thread-safe: one decoder belongs to one reader.

    Args:
        max_frame: the largest frame accepted, in bytes. A larger one is
            skipped up to its ETX and reported as a :class:`FrameError`.
    """

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False
        self._oversized = False
        self._oversized_head = b""

    def feed(self, data: bytes) -> list[str | FrameError]:
        """Add received bytes; return the frames they complete, in order.

        Each item is the frame's text, or a :class:`FrameError` for a frame
        that is not UTF-8 or is larger than ``max_frame`` (the stream resumes
        at the next STX). Bytes outside any frame are reported once per run as
        a :class:`FrameError` too.
        """
        out: list[str | FrameError] = []
        view = memoryview(data)
        pos = 0
        end = len(data)
        while pos < end:
            if not self._in_frame:
                start = data.find(b"\x02", pos)
                if start < 0:
                    stray = bytes(view[pos:end])
                    out.append(
                        FrameError(
                            f"{len(stray)} byte(s) outside a frame: {stray[:40]!r}"
                        )
                    )
                    return out
                if start > pos:
                    stray = bytes(view[pos:start])
                    out.append(
                        FrameError(
                            f"{len(stray)} byte(s) outside a frame: {stray[:40]!r}"
                        )
                    )
                self._in_frame = True
                self._oversized = False
                self._buffer.clear()
                pos = start + 1
                continue
            stop = data.find(b"\x03", pos)
            chunk_end = end if stop < 0 else stop
            nxt = data.find(b"\x02", pos, chunk_end)
            if nxt >= 0:
                # A new STX before the ETX: the frame was cut off; start over.
                out.append(self._broken(bytes(view[pos:nxt]), "cut off by a new STX"))
                self._in_frame = False
                pos = nxt
                continue
            self._append(view[pos:chunk_end])
            if stop < 0:
                return out
            out.append(self._finish())
            self._in_frame = False
            pos = stop + 1
        return out

    def _append(self, chunk: memoryview) -> None:
        if self._oversized:
            return
        if len(self._buffer) + len(chunk) > self.max_frame:
            self._oversized = True
            self._oversized_head = bytes(self._buffer[:80]) + bytes(chunk[:80])
            self._buffer.clear()
            return
        self._buffer += chunk

    def _broken(self, tail: bytes, why: str) -> FrameError:
        head = bytes(self._buffer[:80]) + tail[:80]
        self._buffer.clear()
        return FrameError(
            f"broken frame ({why}): {head[:40]!r}",
            head=head.decode("utf-8", "replace"),
        )

    def _finish(self) -> str | FrameError:
        if self._oversized:
            self._oversized = False
            head = self._oversized_head.decode("utf-8", "replace")
            return FrameError(
                f"frame larger than {self.max_frame} bytes: {head[:40]!r}...",
                head=head,
            )
        raw = bytes(self._buffer)
        self._buffer.clear()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return FrameError(
                f"frame is not UTF-8 ({exc.reason}): {raw[:40]!r}",
                head=raw[:80].decode("utf-8", "replace"),
            )


def split_parameters(text: str) -> list[str]:
    """Return the TAB-separated parameters of a request (a trailing TAB ends them)."""
    if not text:
        return []
    parts = text.split(PARAMETER_SEPARATOR)
    if parts and parts[-1] == "":
        parts.pop()
    return parts
