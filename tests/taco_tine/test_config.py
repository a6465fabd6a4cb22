"""Taco and TINE items loaded from XML by the repository; missing libraries."""

from __future__ import annotations

import importlib.util

import pytest

from HardwareRepository.Command import Taco, Tine

FLUX = """<?xml version="1.0"?>
<object>
  <taconame>id29/flux/1</taconame>
  {simulated}
  <command type="taco" name="gain" args="3, 'auto'">DevSetGain</command>
  <command type="taco" name="reset" timeout="2000">DevReset</command>
  <channel type="taco" name="flux" polling="20" timeout="200">DevRead</channel>
  <channel type="taco" name="raw" polling="20" compare="False" args="0"
           taconame="id29/raw/1">DevReadChannel</channel>
  <channel type="sim" name="other" value="1.5">Other</channel>
</object>
"""

FILTER = """<?xml version="1.0"?>
<object>
  <tine_name>/P14/Attenuators/Filter</tine_name>
  {simulated}
  <command type="tine" name="set" timeout="500" list_args="1">FILTER.SET</command>
  <channel type="tine" name="filter" timeout="20">FILTER</channel>
  <channel type="tine" name="ring" tinename="/PETRA/Idc/Buffer-0"
           attach="datachange" tolerance="5%" timeout="20">I.SCH</channel>
  <channel type="tine" name="state" attach="event" verbose="True"
           message="Filter server lost">STATE</channel>
  <channel type="sim" name="other" value="2">Other</channel>
</object>
"""

PLAIN = """<?xml version="1.0"?>
<object>
  <channel type="sim" name="position" value="0.0">Position</channel>
</object>
"""


def _taco_devices(taco):
    taco.define_device(
        "id29/flux/1",
        {"DevRead": 1.0e12, "DevSetGain": lambda *a: a, "DevReset": 0},
    )
    taco.define_device("id29/raw/1", {"DevReadChannel": lambda ch: ch + 10})


def _tine_servers(tine):
    filt = tine.define_server("/P14/Attenuators/Filter", {"FILTER": 2, "STATE": "ON"})
    filt.on_set("FILTER.SET", lambda data: ("set", data))
    tine.define_server("/PETRA/Idc/Buffer-0", {"I.SCH": 99.5})


def test_real_clients_are_not_installed_here():
    assert importlib.util.find_spec(Taco.CLIENT_MODULE) is None
    assert importlib.util.find_spec(Tine.CLIENT_MODULE) is None


@pytest.mark.parametrize("how", ["property", "environment"])
def test_taco_items_load_from_xml(taco, make_repo, record, monkeypatch, how):
    _taco_devices(taco)
    if how == "environment":
        monkeypatch.setenv("HWR_TACO_SIMULATION", "1")
        text = FLUX.format(simulated="")
    else:
        text = FLUX.format(simulated="<simulated>True</simulated>")
    repo = make_repo({"flux": text})
    flux = repo.get_hardware_object("/flux")
    assert repo.summary()[0].status == "ok", repo.summary_text()

    channel = flux.get_channel_object("flux")
    assert isinstance(channel, Taco.TacoChannel)
    assert channel.device_name == "id29/flux/1"  # inherited from the object
    assert channel.polling == pytest.approx(0.02)
    assert channel.simulated
    assert "SIMULATED" in channel.source()
    rec = record(channel)
    rec.wait_for(lambda: rec.values == [1.0e12])

    raw = flux.get_channel_object("raw")
    assert raw.device_name == "id29/raw/1"
    assert raw.compare is False
    rec_raw = record(raw)
    rec_raw.wait_for(lambda: len(rec_raw.values) >= 3)
    assert set(rec_raw.values) == {10}

    assert flux.execute_command("gain") == (3, "auto")
    reset = flux.get_command_object("reset")
    assert reset.timeout == pytest.approx(3.0)  # 2 s RPC timeout + 1 s grace
    assert reset() == 0


@pytest.mark.parametrize("how", ["property", "element", "environment"])
def test_tine_items_load_from_xml(tine, make_repo, record, monkeypatch, how):
    _tine_servers(tine)
    text = FILTER.format(
        simulated="<simulated>True</simulated>" if how == "property" else ""
    )
    if how == "element":
        text = text.replace('type="tine"', 'type="tine" simulated="true"')
    if how == "environment":
        monkeypatch.setenv("HWR_TINE_SIMULATION", "yes")
    repo = make_repo({"filter": text})
    filt = repo.get_hardware_object("/filter")
    assert repo.summary()[0].status == "ok", repo.summary_text()

    channel = filt.get_channel_object("filter")
    assert isinstance(channel, Tine.TineChannel)
    assert channel.tinename == "/P14/Attenuators/Filter"  # from tine_name
    assert channel.mode == "timer"
    assert channel.timeout == pytest.approx(0.02)
    rec = record(channel)
    rec.wait_for(lambda: rec.values == [2])

    ring = filt.get_channel_object("ring")
    assert ring.tinename == "/PETRA/Idc/Buffer-0"
    assert ring.mode == "datachange"
    assert ring.tolerance == (0.0, 5.0)
    state = filt.get_channel_object("state")
    assert state.mode == "event"
    assert state.verbose
    assert state.message == "Filter server lost"

    assert filt.execute_command("set") == ("set", 1)
    assert filt.execute_command("set", 4) == ("set", 4)
    assert filt.get_command_object("set").client_timeout == pytest.approx(0.5)
    # shutdown (by the fixture) detaches every link; the tine fixture checks it


def test_missing_taco_library_is_a_clear_error_and_the_rest_loads(taco, make_repo):
    repo = make_repo({"flux": FLUX.format(simulated=""), "plain": PLAIN})
    flux = repo.get_hardware_object("/flux")
    plain = repo.get_hardware_object("/plain")
    assert plain.get_channel_value("position") == 0.0
    assert flux.get_channel_value("other") == 1.5  # the object itself loads

    errors = flux.get_item_errors()
    assert set(errors) == {
        ("command", "gain"),
        ("command", "reset"),
        ("channel", "flux"),
        ("channel", "raw"),
    }
    message = str(errors[("channel", "flux")])
    assert "Python module TacoDevice cannot be imported" in message
    cause = errors[("channel", "flux")].__cause__
    assert isinstance(cause, ImportError)
    assert isinstance(cause.__cause__, ModuleNotFoundError)
    assert "HWR_TACO_SIMULATION" in message
    assert "flux.xml" in message
    record = next(r for r in repo.summary() if r.name == "/flux")
    assert record.status == "warning"
    assert "TacoDevice" in record.error
    with pytest.raises(Exception, match="TacoDevice"):
        flux.get_channel_object("flux")


def test_missing_tine_library_is_a_clear_error_and_the_rest_loads(tine, make_repo):
    repo = make_repo({"filter": FILTER.format(simulated=""), "plain": PLAIN})
    filt = repo.get_hardware_object("/filter")
    plain = repo.get_hardware_object("/plain")
    assert plain.get_channel_value("position") == 0.0
    assert filt.get_channel_value("other") == 2

    errors = filt.get_item_errors()
    assert set(errors) == {
        ("command", "set"),
        ("channel", "filter"),
        ("channel", "ring"),
        ("channel", "state"),
    }
    message = str(errors[("channel", "ring")])
    assert "Python module tine cannot be imported" in message
    assert "HWR_TINE_SIMULATION" in message
    assert "filter.xml" in message


def test_simulation_flag_must_be_a_boolean(tine, make_repo):
    text = FILTER.format(simulated="").replace(
        '<channel type="tine" name="filter"',
        '<channel type="tine" simulated="perhaps" name="filter"',
    )
    repo = make_repo({"filter": text})
    filt = repo.get_hardware_object("/filter")
    assert "simulated='perhaps'" in str(filt.get_item_errors()[("channel", "filter")])
