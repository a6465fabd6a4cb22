"""The mxcubecore 2.x and pre-2020 contract of this package's core, without mxcubecore.

Module functions, the repository's methods, hardware-object methods, the
strict and compatible lookup faces, the global dispatcher and TaskUtils.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path

import gevent
import pytest

from HardwareRepository import dispatcher as dispatcher_module
from HardwareRepository.BaseHardwareObjects import (
    Device,
    Equipment,
    HardwareObject,
    HardwareObjectState,
    Null,
)
from HardwareRepository.bridge import AsyncResult
from HardwareRepository.dispatcher import dispatcher
from HardwareRepository.errors import (
    ConfigError,
    HardwareRepositoryError,
    NotReadyTimeout,
)
from HardwareRepository.TaskUtils import cleanup, error_cleanup, task

HWOBJECTS = str(Path(__file__).resolve().parent / "hwobjects")


def test_name_is_a_string_and_a_method():
    obj = HardwareObject("/eh1/omega")
    assert obj.name == "/eh1/omega"
    assert obj.name() == "/eh1/omega"
    assert obj.name.strip("/") == "eh1/omega"
    assert f"{obj.name}" == "/eh1/omega"
    assert obj.load_name == "/eh1/omega"


def test_update_state_without_argument_rereads_get_state():
    class Reads(HardwareObject):
        def get_state(self):
            return self.STATES.READY

    obj = Reads("/r")
    changes = []
    obj.connect("stateChanged", changes.append)
    assert not obj.is_ready()
    obj.update_state()
    assert obj.is_ready()
    assert changes[-1] is HardwareObjectState.READY


def test_specific_states_update_and_emit():
    from MxcubeStyle import MxcubeStyle

    obj = MxcubeStyle("/m")
    seen = []
    obj.connect("specificStateChanged", seen.append)
    assert obj.get_specific_state() is None
    obj.update_specific_state(MxcubeStyle.SPECIFIC_STATES.HOMING)
    obj.update_specific_state(MxcubeStyle.SPECIFIC_STATES.HOMING)  # no change
    assert seen == [MxcubeStyle.SPECIFIC_STATES.HOMING]
    with pytest.raises(ValueError, match=r"READY.* is not one of Specific"):
        obj.update_specific_state(HardwareObjectState.READY)


def test_set_is_ready_on_every_object_and_camel_case():
    obj = HardwareObject("/plain")
    obj.set_is_ready(True)
    assert obj.is_ready()
    assert obj.isReady()
    obj.setIsReady(False)
    assert obj.get_state() is HardwareObjectState.OFF
    device = Device("/d")
    assert (Device.NOTREADY, Device.READY) == (0, 1)
    device.set_is_ready(True)
    assert device.is_ready()


def test_wait_ready_timeout_is_also_a_runtime_error():
    obj = HardwareObject("/slow")
    with pytest.raises(RuntimeError, match="/slow not ready") as info:
        obj.wait_ready(0.01)
    assert isinstance(info.value, NotReadyTimeout)
    assert isinstance(info.value, TimeoutError)


def test_log_user_log_abort_stop_clear_gevent_print_log(caplog):
    obj = HardwareObject("/x")
    assert obj.log.name == "HWR.HardwareObject"
    assert obj.user_log.name == "user_level_log"
    with caplog.at_level(logging.INFO):
        obj.log.info("hello")
        obj.print_log("HWR", "info", "printed")
    assert "hello" in caplog.text
    assert "printed" in caplog.text
    obj.update_state(HardwareObjectState.READY)
    obj.abort()
    obj.stop()
    obj.clear_gevent()
    assert obj.get_state() is HardwareObjectState.UNKNOWN


def test_equipment_device_lookups_and_null():
    equipment = Equipment("/eq")
    device = Device("/dev")
    equipment.add_object("device", device, role="slit")
    assert equipment.get_device_by_role("slit") is device
    assert equipment.get_device("/dev") is device
    assert equipment.getDevices() == [device]
    assert equipment.is_valid()
    assert equipment.userName() == "/eq"
    null = Null()
    assert not null
    assert null.anything(1).more is null


def test_connect_notify_of_pre_2020_classes_is_called():
    from MxcubeStyle import OldStyle

    obj = OldStyle("/old")
    listener = HardwareObject("/listener")
    listener.connect(obj, "valueChanged", print)
    dispatcher.connect(print, "positionChanged", obj)
    assert obj.notified == ["valueChanged", "positionChanged"]


def test_dispatcher_is_the_same_signal_system():
    obj = HardwareObject("/motor")
    via_dispatcher, via_connect, from_anyone = [], [], []
    add_dispatched, add_anyone = via_dispatcher.append, from_anyone.append
    dispatcher.connect(add_dispatched, "valueChanged", obj)
    obj.connect("valueChanged", via_connect.append)
    dispatcher.connect(add_anyone, "valueChanged", dispatcher.Any)
    try:
        obj.emit("valueChanged", 1.5)
        responses = dispatcher.send("valueChanged", obj, 2.5)
        assert via_dispatcher == via_connect == [1.5, 2.5]
        assert from_anyone == [1.5, 2.5]
        assert len(responses) == 3
        dispatcher.disconnect(add_dispatched, "valueChanged", obj)
        obj.emit("valueChanged", 3.5)
        assert via_dispatcher == [1.5, 2.5]
        # a sender that is not a hardware object
        plain, heard = object(), []
        listener = HardwareObject("/listener")
        listener.connect(plain, "ping", heard.append)
        dispatcher.send("ping", plain, "pong")
        assert heard == ["pong"]
    finally:
        dispatcher.disconnect(add_anyone, "valueChanged", dispatcher.Any)
    with pytest.raises(ValueError, match="name the signal"):
        dispatcher.connect(print, dispatcher_module.Any, obj)


def test_task_waits_returns_raises_and_times_out():
    class BoomError(Exception):
        def __init__(self, code, text):  # a constructor mxcubecore could not rebuild
            super().__init__(f"{code}: {text}")

    @task
    def double(x):
        gevent.sleep(0)
        return 2 * x

    @task
    def fail():
        raise BoomError(3, "bad")

    @task
    def slow():
        gevent.sleep(10)

    assert double(21) == 42
    job = double(4, wait=False)
    assert job.get(timeout=5) == 8
    with pytest.raises(BoomError, match="3: bad") as info:
        fail()
    assert info.traceback[-1].name == "fail"  # the original traceback
    with pytest.raises(gevent.Timeout):
        slow(timeout=0.01)
    failed = fail(wait=False)
    failed.join(timeout=5)
    assert isinstance(failed.task_exception, BoomError)
    with pytest.raises(BoomError):
        failed.get()


def test_cleanup_and_error_cleanup():
    calls = []
    with cleanup(lambda **kw: calls.append(("always", kw)), tag=1):
        pass
    with (
        pytest.raises(KeyError),
        error_cleanup(lambda: calls.append("on error"), lambda: 1 / 0),
    ):
        raise KeyError("x")
    with error_cleanup(lambda: calls.append("never")):
        pass
    assert calls == [("always", {"tag": 1}), "on error"]


def test_native_face_raises_and_compatible_face_returns_none(
    hwr, write, cfg, caplog, sim_xml
):
    write("thing.xml", sim_xml())
    native = hwr.HardwareRepository(cfg, hardware_objects_dirs=[HWOBJECTS])
    try:
        with pytest.raises(ConfigError):
            native.get_hardware_object("/missing")
        record = {r.name: r for r in native.load_all()}["/thing"]
        assert record.status == "failed"
        assert "no channel named 'absent'" in record.error
    finally:
        native.shutdown()

    compatible = hwr.HardwareRepository(
        cfg, hardware_objects_dirs=[HWOBJECTS], compatible=True
    )
    try:
        with caplog.at_level(logging.ERROR):
            assert compatible.get_hardware_object("/missing") is None
            assert compatible.get_hardware_object("/missing") is None  # logged once
            thing = compatible.get_hardware_object("/thing")
        assert thing.missing_channel is None
        assert thing.missing_command is None
        assert thing.get_channel_object("position").get_value() == 1.5
        misses = compatible.missing_lookups()
        assert len(misses["/missing"]) == 1
        assert [m.split(": ", 1)[1].split(" -> ")[0] for m in misses["/thing"]] == [
            "channel 'absent' not configured (known: position)",
            "command 'absent' not configured (known: home)",
            "connect(None, 'valueChanged', ...): no sender (a role not configured?); "
            "nothing connected",
        ]
        for miss in misses["/thing"]:
            assert "thing.xml" in miss
            assert "thing.xml:1 (object /thing)" in miss
        lookups = [line for line in caplog.text.splitlines() if "-> None" in line]
        assert sum("missing.xml" in line for line in lookups) == 1
        with pytest.raises(ValueError, match="strict or compatible"):
            hwr.HardwareRepository(cfg, strict=True, compatible=True)
    finally:
        compatible.shutdown()


def test_repository_contract_and_pre_2020_names(hwr, write, cfg, sim_xml):
    write("eh1/thing.xml", sim_xml())
    write("dev.xml", "<device><username>D</username></device>")
    write("eq.xml", '<equipment><device role="d" href="/dev"/></equipment>')
    write("notes/readme.txt", "not an object")
    repo = hwr.init_hardware_repository(
        cfg, hardware_objects_dirs=[HWOBJECTS], compatible=True
    )
    assert hwr.HardwareRepository() is repo is hwr.getHardwareRepository()
    repo.connect()
    assert repo.server_address == [str(cfg)]
    assert repo.find_in_repository("notes/readme.txt") == str(cfg / "notes/readme.txt")
    assert repo.find_in_repository("nope.txt") is None
    repo.require(["/dev", "/eq"])
    assert repo.is_device("/dev")
    assert repo.isEquipment("/eq")
    assert not repo.is_procedure("/dev")
    assert repo["devices"] == [repo["/dev"]]
    assert repo.get_equipments() == [repo.getEquipment("/eq")]
    thing = repo.getHardwareObject("/eh1/thing")
    info = repo.get_info("/eh1/thing")
    assert info["class"] == "MxcubeStyle"
    assert info["channels"]["position"]["connected ?"] == "yes"
    assert "home" in info["commands"]
    assert repo.get_info("/never") == {}
    assert pickle.loads(pickle.dumps(thing)).get_channel_value("position") == 1.5
    assert "<username>Thing</username>" in thing.xml_source()
    thing.set_property("username", "Renamed")
    thing.commit_changes()
    assert "<username>Renamed</username>" in (cfg / "eh1/thing.xml").read_text()
    with pytest.raises(ConfigError, match="malformed XML"):
        thing.rewrite_xml("<object>")
    parsed = repo.parse_xml("<object><speed>3</speed></object>", "/from-text")
    assert parsed.get_property("speed") == 3
    assert repo["/from-text"] is parsed
    repo.close()


def test_module_functions(hwr, tmp_path, cfg, write):
    hwr.add_hardware_objects_dirs([HWOBJECTS, str(tmp_path / "does-not-exist")])
    hwr.set_user_file_directory(str(tmp_path))
    write(
        "thing.xml",
        '<object class="MxcubeStyle.OldStyle">'
        '<channel type="sim" name="position" value="2"/></object>',
    )
    repo = hwr.init_hardware_repository(cfg)
    thing = repo.get_hardware_object("/thing")
    assert thing.isReady()
    assert thing.getChannelNamesList() == ["position"]
    assert [c.name() for c in thing.getChannels()] == ["position"]
    assert thing.getCommandNamesList() == []
    assert list(thing.getCommands()) == []
    assert thing.user_file_directory == str(tmp_path)
    assert hwr.beamline is None  # no beamline_config.yml


def test_exported_methods_for_mxcubeweb(hwr, write, cfg):
    write(
        "exporting.xml",
        """
        <object class="MxcubeStyle.Exporting">
          <exports>["move_to"]</exports>
        </object>
        """,
    )
    repo = hwr.init_hardware_repository(cfg, hardware_objects_dirs=[HWOBJECTS])
    obj = repo.get_hardware_object("/exporting")
    exported = obj.exported_attributes
    assert set(exported) == {"move_to", "home"}
    assert exported["move_to"]["signature"] == ["position", "speed"]
    assert '"position"' in exported["move_to"]["schema"]
    model = obj.pydantic_model["move_to"]
    assert model(position=1.5, speed=2).position == 1.5
    with pytest.raises(ValueError, match="speed"):
        model(position=1.5, speed="fast")
    assert "all" in obj.pydantic_model
    assert obj.execute_exported_command("move_to", {"position": 3.0, "speed": 1}) == (
        3.0,
        1,
    )
    with pytest.raises(AttributeError, match="not exported"):
        obj.execute_exported_command("init", {})


def test_reload_hardware_objects_reimports_changed_modules(hwr, write, cfg, tmp_path):
    classes = tmp_path / "classes"
    classes.mkdir()
    module = classes / "Reloadable.py"
    source = (
        "from HardwareRepository.BaseHardwareObjects import HardwareObject\n"
        "class Reloadable(HardwareObject):\n"
        "    VERSION = {version}\n"
    )
    module.write_text(source.format(version=1))
    write("thing.xml", '<object class="Reloadable"/>')
    repo = hwr.init_hardware_repository(cfg, hardware_objects_dirs=[str(classes)])
    old = repo.get_hardware_object("/thing")
    heard = []
    old.connect("valueChanged", heard.append)
    assert old.VERSION == 1
    assert repo.reload_hardware_objects() == []  # nothing changed
    module.write_text(source.format(version=22))
    stat = module.stat()
    os.utime(module, (stat.st_atime, stat.st_mtime + 10))
    assert repo.reloadHardwareObjects() == ["/thing"]
    new = repo.get_hardware_object("/thing")
    assert new is not old
    assert new.VERSION == 22
    new.emit("valueChanged", 5)
    assert heard == [5]  # receivers carried over


def test_add_reference_and_resolve_references(hwr, write, cfg):
    write(
        "eh1/phi.xml",
        '<object><channel type="sim" name="position" value="7"/></object>',
    )
    hwr.init_hardware_repository(cfg)
    container = HardwareObject("/container")
    container.add_reference("motor", "/eh1/phi", role="phi")
    container.add_reference("motor", "/eh1/absent", role="nothing")
    child = HardwareObject("child")
    container.add_object("child", child)
    child.add_reference("motor", "/eh1/phi", role="inner_phi")
    container.resolve_references()
    assert container.get_object_by_role("phi").get_channel_value("position") == 7
    assert container.get_object_by_role("nothing") is None
    assert child.get_object_by_role("inner_phi") is container.phi
    hwr.uninit_hardware_repository()
    orphan = HardwareObject("/orphan")
    orphan.add_reference("motor", "/eh1/phi")
    with pytest.raises(HardwareRepositoryError, match="without a repository"):
        orphan.resolve_references()


def test_task_called_from_another_thread_runs_in_the_owning_hub(hwr, cfg):
    hwr.init_hardware_repository(cfg)
    where = []

    @task
    def double(x):
        where.append(threading.get_ident())
        gevent.sleep(0)
        return 2 * x

    @task
    def slow():
        gevent.sleep(10)

    outcome = AsyncResult()

    def worker():
        try:
            value = double(21)
            later = double(5, wait=False).get(5)
            try:
                slow(timeout=0.05)
                timed_out = False
            except gevent.Timeout:
                timed_out = True
            outcome.set((value, later, timed_out))
        except BaseException as exc:
            outcome.set_exception(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert outcome.get(timeout=10) == (42, 10, True)
    finally:
        thread.join(5)
    assert where == [threading.main_thread().ident] * 2
