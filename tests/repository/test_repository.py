"""The repository: example configuration, grammar, references, lifecycle, reload."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from HardwareRepository.bridge import Event
from HardwareRepository.errors import ConfigError, HardwareRepositoryError
from HardwareRepository.HardwareRepository import (
    HardwareRepository,
    get_hardware_repository,
    init_hardware_repository,
    uninit_hardware_repository,
)

HERE = os.path.dirname(os.path.abspath(__file__))
HWOBJECTS = os.path.join(HERE, "hwobjects")
EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(HERE)), "configuration", "example"
)


def test_example_configuration_loads_through_the_global_api():
    repo = init_hardware_repository(EXAMPLE)
    try:
        assert get_hardware_repository() is repo
        records = repo.load_all()
        assert [r.status for r in records] == ["ok"] * len(records)
        assert {r.name for r in records} == {
            "/beamline",
            "/machine-info",
            "/eh1/diffractometer",
            "/eh1/diff-omega",
            "/eh1/safety-shutter",
        }
        omega = repo.get_hardware_object("eh1/diff-omega")
        assert omega is repo.get_hardware_object("/eh1/diff-omega.xml")
        assert omega.get_property("velocity") == 36.0
        assert omega.username == "Omega"
        assert omega.get_channel_value("position") == 0.0
        assert omega.home() == 0.0  # commands are attributes too
        assert omega.get_object_by_role("shutter") is repo.get_hardware_object(
            "/eh1/safety-shutter"
        )
        beamline = repo.get_hardware_object("/beamline")
        diffractometer = beamline.get_object_by_role("diffractometer")
        assert diffractometer.get_object_by_role("OMEGA") is omega
        assert beamline.get_object_by_role("omega") is omega  # depth-first search
        phases = diffractometer["phases"]
        assert phases.get_property("phase") == [
            "Centring",
            "DataCollection",
            "BeamLocation",
        ]
        arguments = diffractometer.get_command_object("set_phase").get_arguments()
        assert arguments[0]["name"] == "phase"
        assert arguments[0]["items"] == [
            ("Centring", "Centring"),
            ("DataCollection", "DataCollection"),
        ]
    finally:
        uninit_hardware_repository()
    with pytest.raises(HardwareRepositoryError, match="init_hardware_repository"):
        get_hardware_repository()


def test_path_overlay_first_match_wins(make_repo, tmp_path, write):
    site, common = tmp_path / "site", tmp_path / "common"
    write(common, "motor.xml", "<object><origin>common</origin></object>")
    write(common, "only-common.xml", "<object><origin>common</origin></object>")
    write(site, "motor.xml", "<object><origin>site</origin></object>")
    repo = make_repo(f"{site}{os.pathsep}{common}")
    assert repo.get_hardware_object("motor").get_property("origin") == "site"
    assert repo.get_hardware_object("only-common").get_property("origin") == "common"
    assert make_repo([common, site]).get_hardware_object("motor").origin == "common"


def test_grammar_properties_lists_nodes_and_name_keys(make_repo, tmp_path, write):
    write(
        tmp_path,
        "thing.xml",
        """<equipment class="RecordingObject">
  <speed>2.5</speed><count>3</count><flag>True</flag><none>None</none>
  <label>  padded  </label><empty/>
  <pos>1</pos><pos>2</pos>
  <limits><low>-1</low><high>1</high></limits>
  <device class="hwpkg.Widget" role="Inner"><colour>red</colour></device>
  <channel type="sim" name="123" value="0x10">Attr</channel>
</equipment>""",
    )
    thing = make_repo(tmp_path).get_hardware_object("/thing")
    assert thing.get_properties()["speed"] == 2.5
    assert thing.count == 3
    assert thing.flag is True
    assert thing.get_property("none", "dflt") is None
    assert thing.label == "padded"
    assert thing.empty is None
    assert thing.get_property("pos") == [1, 2]
    assert thing["limits"].get_property("low") == -1
    inner = thing.get_object_by_role("inner")
    assert type(inner).__name__ == "Widget"
    assert inner.colour == "red"
    assert thing.get_channel_names_list() == ["123"]  # a name stays a string
    assert thing.get_channel_value("123") == "0x10"
    with pytest.raises(
        AttributeError, match="no attribute, command or property 'nope'"
    ):
        _ = thing.nope


def test_relative_references_and_lifecycle_order(make_repo, tmp_path, write):
    write(tmp_path, "sub/target.xml", "<object><v>1</v></object>")
    write(
        tmp_path,
        "sub/user.xml",
        """<object class="RecordingObject">
  <speed>4</speed>
  <object href="./target" role="dot"/>
  <object hwrid="../target" role="dotdot"/>
  <channel type="sim" name="position" value="9">P</channel>
  <command type="sim" name="stop"/>
</object>""",
    )
    repo = make_repo(tmp_path)
    user = repo.get_hardware_object("/sub/user")
    target = repo.get_hardware_object("/sub/target")
    assert user.get_object_by_role("dot") is target
    assert user.get_object_by_role("dotdot") is target
    # references, channels and commands were all in place when init() ran
    assert user.seen_at_init == {
        "roles": ["dot", "dotdot"],
        "channels": ["position"],
        "commands": ["stop"],
        "speed": 4,
    }
    assert user.updates == [9]


def test_class_dirs_by_api_and_environment(monkeypatch, tmp_path, write):
    custom = tmp_path / "custom"
    write(
        custom,
        "EnvObject.py",
        "from HardwareRepository.BaseHardwareObjects import HardwareObject\n"
        "class EnvObject(HardwareObject):\n    pass\n",
    )
    conf = tmp_path / "conf"
    write(conf, "a.xml", '<object class="EnvObject"/>')
    write(conf, "b.xml", '<object class="hwpkg.several.Second"/>')
    monkeypatch.setenv("CUSTOM_HARDWARE_OBJECTS_PATH", str(custom))
    repo = HardwareRepository(conf, hardware_objects_dirs=[HWOBJECTS])
    try:
        assert type(repo.get_hardware_object("a")).__name__ == "EnvObject"
        assert type(repo.get_hardware_object("b")).__name__ == "Second"
    finally:
        assert repo.shutdown() == []
        sys.modules.pop("EnvObject", None)


def test_reload_reconnects_signals_and_replaces_references(make_repo, tmp_path, write):
    path = write(
        tmp_path,
        "motor.xml",
        """<object class="RecordingObject">
  <channel type="sim" name="position" value="1">P</channel>
</object>""",
    )
    write(tmp_path, "user.xml", '<object><object href="/motor" role="motor"/></object>')
    repo = make_repo(tmp_path)
    user = repo.get_hardware_object("/user")
    old = repo.get_hardware_object("/motor")
    got = []
    old.connect("valueChanged", got.append)
    assert got == [1]  # connect_notify re-emitted the current value
    old_channel = old.get_channel_object("position")
    discarded = []
    repo.add_signal_receiver("hardwareObjectDiscarded", discarded.append)
    with open(path, "w") as handle:
        handle.write(
            """<object class="RecordingObject">
  <channel type="sim" name="position" value="2">P</channel>
</object>"""
        )
    new = repo.reload_hardware_object("motor")
    assert new is not old
    assert old_channel.closed
    assert discarded == ["/motor"]
    assert got == [1, 2]  # reconnected, and the new object re-emitted its value
    new.get_channel_object("position").set_value(3)
    assert got == [1, 2, 3]
    assert user.get_object_by_role("motor") is new


def test_failed_object_retried_after_discard(make_repo, tmp_path, write):
    path = write(tmp_path, "x.xml", "<object><broken></object>")
    repo = make_repo(tmp_path)
    with pytest.raises(ConfigError, match="malformed"):
        repo.get_hardware_object("x")
    write(tmp_path, "x.xml", "<object><fixed>1</fixed></object>")
    with pytest.raises(ConfigError, match="malformed"):  # remembered, no retry
        repo.get_hardware_object("x")
    repo.discard_hardware_object("x")
    assert repo.get_hardware_object("x").fixed == 1
    assert os.path.exists(path)


def test_shutdown_closes_channels_and_refuses_use(tmp_path, write):
    write(
        tmp_path, "m.xml", '<object><channel type="sim" name="p" value="1"/></object>'
    )
    repo = HardwareRepository(tmp_path)
    channel = repo.get_hardware_object("m").get_channel_object("p")
    assert channel.is_connected()
    assert repo.shutdown(timeout=2.0) == []
    assert channel.closed
    assert not channel.is_connected()
    with pytest.raises(HardwareRepositoryError, match="shut down"):
        repo.get_hardware_object("m")
    assert repo.shutdown() == []  # idempotent


def test_get_hardware_object_from_a_plain_thread_loads_in_the_owner(make_repo):
    repo = make_repo(EXAMPLE)
    done = Event()
    box = {}

    def worker():
        try:
            box["obj"] = repo.get_hardware_object("/eh1/diff-omega")
        finally:
            done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert done.wait(10)
    thread.join(10)
    channel = box["obj"].get_channel_object("position")
    assert channel._bridge.in_hub_thread()  # created in this (the owning) thread


def test_headless_load_needs_no_qt():
    code = f"""
import sys
for name in ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy"):
    sys.modules[name] = None  # any import of Qt now fails
from HardwareRepository.HardwareRepository import (
    HardwareRepository,
    get_hardware_repository,
    init_hardware_repository,
    uninit_hardware_repository,
)
repo = init_hardware_repository({EXAMPLE!r})
rows = repo.load_all()
assert all(r.status == "ok" for r in rows), repo.summary_text()
print(repo.get_hardware_object("/eh1/diff-omega").get_channel_value("position"))
uninit_hardware_repository()
"""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.pop("QT_QPA_PLATFORM", None)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0.0"


def test_long_reference_chain_loads_without_recursion(make_repo, tmp_path, write):
    count = 1500  # deeper than Python's recursion limit
    write(tmp_path, "c/n0.xml", "<object><v>0</v></object>")
    for i in range(1, count):
        write(
            tmp_path,
            f"c/n{i}.xml",
            f'<object><object href="./n{i - 1}" role="prev"/></object>',
        )
    repo = make_repo(tmp_path)
    last = repo.get_hardware_object(f"/c/n{count - 1}")
    node = last
    for _ in range(count - 1):
        node = node.get_object_by_role("prev")
    assert node is repo.get_hardware_object("/c/n0")
    assert all(r.status == "ok" for r in repo.summary())


def test_reload_replaces_references_in_nodes_and_without_role(
    make_repo, tmp_path, write
):
    write(tmp_path, "eh/motor.xml", "<device><v>1</v></device>")
    write(
        tmp_path,
        "eh/diff.xml",
        """<object>
  <motors><device role="phi" hwrid="./motor"/></motors>
  <aperture_hwobj href="/eh/motor"/>
  <device name="inner"><object href="/eh/motor" role="inner_motor"/></device>
</object>""",
    )
    repo = make_repo(tmp_path)
    diff = repo.get_hardware_object("/eh/diff")
    old = repo.get_hardware_object("/eh/motor")
    assert diff["aperture_hwobj"] is old
    new = repo.reload_hardware_object("/eh/motor")
    assert new is not old
    assert diff["motors"].get_object_by_role("phi") is new
    assert diff["motors"]["device"] is new
    assert diff["aperture_hwobj"] is new
    assert diff["device"].get_object_by_role("inner_motor") is new
    assert list(diff["motors"]) == [new]


def test_shutdown_is_bounded_when_an_object_hangs(tmp_path, write, caplog):
    write(tmp_path, "stuck.xml", '<object class="SlowShutdown"/>')
    write(
        tmp_path,
        "fine.xml",
        '<object><channel type="sim" name="p" value="1"/></object>',
    )
    repo = HardwareRepository(tmp_path, hardware_objects_dirs=[HWOBJECTS])
    channel = repo.get_hardware_object("fine").get_channel_object("p")
    repo.get_hardware_object("stuck")  # loaded last, so shut down first
    started = time.monotonic()
    problems = repo.shutdown(timeout=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0  # the object would wait 120 s
    assert any("shutdown of /stuck (/stuck) did not finish" in p for p in problems)
    assert channel.closed  # the other objects were still shut down


def test_custom_directory_shadows_a_builtin_hardware_object(
    monkeypatch, tmp_path, write
):
    custom = tmp_path / "custom"
    write(
        custom,
        "TangoMotor.py",
        "from HardwareRepository.BaseHardwareObjects import Device\n"
        "class TangoMotor(Device):\n    SITE = True\n",
    )
    conf = tmp_path / "conf"
    write(conf, "m.xml", '<device class="TangoMotor"/>')
    monkeypatch.setenv("CUSTOM_HARDWARE_OBJECTS_PATH", str(custom))
    saved = sys.modules.pop("TangoMotor", None)
    repo = HardwareRepository(conf)
    try:
        motor = repo.get_hardware_object("m")
        assert type(motor).__module__ == "TangoMotor"
        assert type(motor).SITE is True
    finally:
        assert repo.shutdown() == []
        sys.modules.pop("TangoMotor", None)
        if saved is not None:
            sys.modules["TangoMotor"] = saved


def test_shutdown_stops_the_polling_service_it_owns(tmp_path):
    from HardwareRepository import Poller
    from HardwareRepository._polling import polling_service

    class Source:
        def read(self):
            return 1

    source = Source()
    got = Event()
    repo = HardwareRepository(tmp_path)
    poller = Poller.poll(source.read, (), 10, lambda value: got.set())
    assert got.wait(10)
    assert polling_service().threads() >= 1
    assert repo.shutdown() == []
    assert poller.get_id() not in polling_service().registry
    assert polling_service().threads() == 0
