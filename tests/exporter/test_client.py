"""The Exporter client against the SIMULATED MD server over a real socket."""

from __future__ import annotations

import threading
import time

import pytest
from exporter_helpers import connected_client, wait_for

from HardwareRepository.Command.exporter import (
    ExporterClient,
    ExporterProtocolError,
    Request,
)
from HardwareRepository.Command.exporter.protocol import encode_frame
from HardwareRepository.demo.processes import MDServerProcess
from HardwareRepository.errors import CommandFailedError, NotConnectedError, Timeout


def test_read_write_exec_and_name(client):
    c, _ = client
    assert c.call(Request.NAME) == "SIMULATED MD"
    assert c.call(Request.READ, "State") == "Ready"
    assert c.call(Request.EXEC, "getMotorLimits", ["Kappa"]) == "\x1f-5.0\x1f240.0\x1f"
    assert c.call(Request.WRTE, "FrontLightLevel", [0.5]) is None
    assert c.call(Request.READ, "FrontLightLevel") == "0.5"


def test_a_move_pushes_position_and_state_events_in_order(client):
    c, recorder = client
    start = float(c.call(Request.READ, "PhiPosition"))
    # 0.5 s at Phi's 60 units/s: many 20 ms ticks even when the machine is
    # busy (a 3-unit move took only two late ticks under load)
    c.call(Request.WRTE, "PhiPosition", [start + 30.0])
    wait_for(lambda: "Ready" in recorder.values("PhiState")[1:], what="end of move")
    positions = [float(v) for v in recorder.values("PhiPosition")]
    assert positions == sorted(positions)
    assert positions[-1] == pytest.approx(start + 30.0)
    assert len(positions) > 2  # moved over time, not in one step
    assert recorder.values("PhiState")[:2] == ["Moving", "Ready"]


def test_an_err_reply_names_server_and_method_and_the_connection_survives(client):
    c, _ = client
    with pytest.raises(CommandFailedError) as info:
        c.call(Request.EXEC, "startSetPhase", ["Nowhere"])
    message = str(info.value)
    assert "startSetPhase" in message
    assert c.address in message
    assert "unknown phase 'Nowhere'" in message
    assert c.call(Request.READ, "State") == "Ready"


def test_an_unknown_property_names_it(client):
    c, _ = client
    with pytest.raises(CommandFailedError, match="READ NoSuchProperty on"):
        c.call(Request.READ, "NoSuchProperty")


def test_a_reply_in_pieces_is_assembled(client):
    c, _ = client
    text = "a reply sent in many small pieces"
    assert c.call(Request.EXEC, "simChunkedReply", [text, 3, 10]) == text


def test_two_replies_in_one_send_each_reach_their_request(client):
    c, _ = client
    c.call(Request.EXEC, "simBatchReplies", [2])
    first = c.submit(Request.READ, "CurrentPhase")
    second = c.submit(Request.EXEC, "getMotorMaxSpeed", ["Kappa"])
    assert first.wait(3) == "Centring"
    assert second.wait(3) == "20.0"


def test_a_malformed_reply_fails_that_request_only(client):
    c, _ = client
    with pytest.raises(ExporterProtocolError) as info:
        c.call(Request.EXEC, "simRawReply", [b"\x02RET:\xff\xfe\x03".hex()])
    assert "EXEC simRawReply on" in str(info.value)
    assert "not UTF-8" in str(info.value)
    assert c.call(Request.READ, "State") == "Ready"
    assert c.generation == 1  # the same connection


def test_an_oversized_reply_fails_that_request_only(client):
    c, _ = client
    with pytest.raises(ExporterProtocolError, match="larger than 500000 bytes"):
        c.call(Request.EXEC, "simOversizedReply", [600_000])
    assert c.call(Request.READ, "CurrentPhase") == "Centring"
    assert c.generation == 1


def test_a_malformed_event_is_dropped_and_the_reply_after_it_arrives(client, caplog):
    c, _ = client
    raw = b"\x02EVT:broken\x03" + b"junk" + encode_frame("RET:fine")
    assert c.call(Request.EXEC, "simRawReply", [raw.hex()]) == "fine"
    assert "malformed event 'EVT:broken'" in caplog.text
    assert c.call(Request.READ, "State") == "Ready"


def test_a_late_reply_is_dropped_not_given_to_the_next_request(client):
    c, _ = client
    with pytest.raises(Timeout, match=r"EXEC simSleep on .*: no reply within 0.1 s"):
        c.call(Request.EXEC, "simSleep", [0.3], timeout=0.1)
    assert c.call(Request.READ, "CurrentPhase", timeout=3) == "Centring"
    assert c.generation == 1


def test_a_reply_that_never_comes_times_out_and_the_client_resynchronises(client):
    c, recorder = client
    with pytest.raises(Timeout, match="EXEC simNoReply"):
        c.call(Request.EXEC, "simNoReply", timeout=0.2)
    wait_for(lambda: c.generation == 2, what="a new connection (grace 0.5 s)")
    wait_for(c.is_connected, what="reconnected")
    assert c.call(Request.READ, "State") == "Ready"
    assert recorder.connection == [False, True, False, True]


def test_requests_from_many_threads_each_get_their_own_reply(client):
    c, _ = client
    errors: list[BaseException] = []

    def worker(motor: str) -> None:
        try:
            for _ in range(20):
                speed = c.call(Request.EXEC, "getMotorMaxSpeed", [motor])
                assert float(speed) == {"Kappa": 20.0, "AlignmentX": 1.0}[motor]
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(m,)) for m in ("Kappa", "AlignmentX")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []


def test_not_connected_fails_at_once_naming_the_server():
    server = MDServerProcess()  # never started: nothing listens
    client = ExporterClient(server.host, server.port, reconnect_delay=0.1)
    try:
        client.start()
        with pytest.raises(NotConnectedError, match=f"READ State on {server.address}"):
            client.call(Request.READ, "State")
    finally:
        client.close()
        server.close()


def test_server_dying_mid_call_then_coming_back():
    with MDServerProcess() as server:
        c, recorder = connected_client(server, reconnect_delay=0.1)
        try:
            c.call(Request.WRTE, "FrontLightLevel", [0.25])
            with pytest.raises(NotConnectedError) as info:
                c.call(Request.EXEC, "simExit")
            assert "EXEC simExit on" in str(info.value)
            assert "connection lost" in str(info.value)
            lost_at = time.monotonic()
            wait_for(lambda: not c.is_connected(), timeout=2.0, what="disconnected")
            assert time.monotonic() - lost_at < 2.0
            assert server.wait_exit(5) == 3
            with pytest.raises(NotConnectedError):
                c.call(Request.READ, "State")
            server.start()  # same port; a fresh server (light level back to 1.0)
            wait_for(c.is_connected, timeout=5.0, what="reconnected")
            assert c.call(Request.READ, "FrontLightLevel") == "1.0"
            assert recorder.connection == [False, True, False, True]
        finally:
            c.close()


def test_close_fails_what_still_waits():
    with MDServerProcess() as server:
        c, _ = connected_client(server)
        pending = c.submit(Request.EXEC, "simSleep", [5])
        c.close()
        with pytest.raises(NotConnectedError, match="simSleep"):
            pending.wait(2)
        with pytest.raises(NotConnectedError, match="client closed"):
            c.submit(Request.READ, "State")
