"""Every bad input of issue 5 has a file in bad/ and a test checking the message.

Each message must name the file, the line (where one exists) and the object.
"""

from __future__ import annotations

import ast
import logging
import os
import pathlib
import time

import pytest

import HardwareRepository
from HardwareRepository.errors import ConfigError

BAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")


def _file(name: str) -> str:
    return os.path.join(BAD, name)


def _load_error(repo, name: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        repo.get_hardware_object(name)
    return info.value


def test_malformed_xml_names_file_line_and_object(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "/malformed")
    assert error.file == _file("malformed.xml")
    assert error.line == 4
    assert error.obj == "/malformed"
    assert "malformed XML" in str(error)
    assert "malformed.xml:4" in str(error)


def test_missing_file_names_object_and_path(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "no-such-object")
    assert error.obj == "/no-such-object"
    assert "no file no-such-object.xml in " + BAD in str(error)


def test_unknown_class(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "/unknown-class")
    assert (error.file, error.line, error.obj) == (
        _file("unknown-class.xml"),
        1,
        "/unknown-class",
    )
    assert "no module for class='NoSuchClass'" in str(error)


def test_missing_module_of_dotted_class(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "/missing-module")
    assert error.line == 1
    assert "no module for class='nosuchpackage.motors.FancyMotor'" in str(error)
    assert "nosuchpackage.motors.FancyMotor" in str(error)


def test_import_error_inside_module_is_reported_as_such(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "/import-error")
    message = str(error)
    assert "importing module BrokenImport for class='BrokenImport' failed" in message
    assert "f90nml_is_not_installed" in message
    assert isinstance(error.__cause__, ModuleNotFoundError)
    assert error.file == _file("import-error.xml")
    assert error.obj == "/import-error"


def test_class_that_is_not_a_hardware_object(make_repo):
    error = _load_error(make_repo(BAD), "/not-a-hwo")
    assert "not a HardwareObject" in str(error)
    assert error.line == 1


def test_module_without_the_class(make_repo):
    error = _load_error(make_repo(BAD), "/no-class")
    assert "has no class 'NoClassHere'" in str(error)
    assert "NoClassHere.py" in str(error)


def test_init_raising_keeps_reason_and_traceback(make_repo):
    repo = make_repo(BAD)
    error = _load_error(repo, "/init-raises")
    assert "InitRaises.init() of /init-raises raised RuntimeError" in str(error)
    assert "calib.h5" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    assert error.file == _file("init-raises.xml")
    assert error.line == 2
    # The failure is remembered: asking again raises the same reason, no retry.
    again = _load_error(repo, "/init-raises")
    assert again is error
    assert repo.get_hardware_object("/init-raises", optional=True) is None


def test_reference_cycle_reports_path_without_recursion(make_repo):
    repo = make_repo(BAD)
    a = repo.get_hardware_object("/cycle-a")
    records = {r.name: r for r in repo.summary()}
    b_error = records["/cycle-b"].errors[0]
    assert "reference cycle: /cycle-a -> /cycle-b -> /cycle-a" in str(b_error)
    assert (b_error.file, b_error.line) == (_file("cycle-b.xml"), 3)
    assert records["/cycle-b"].status == "failed"
    # /cycle-a loads, with a warning naming its role and the cycle.
    assert records["/cycle-a"].status == "warning"
    warning = str(records["/cycle-a"].warnings[0])
    assert "reference role 'partner' of /cycle-a -> /cycle-b failed to load" in warning
    assert "cycle-a.xml:2" in warning
    assert a.get_object_by_role("partner") is None
    with pytest.raises(ConfigError, match="reference cycle"):
        repo.get_hardware_object("/cycle-b")


def test_missing_reference_target_is_a_warning_naming_parent_and_role(
    make_repo, caplog
):
    repo = make_repo(BAD)
    with caplog.at_level(logging.WARNING, logger="HardwareRepository.repository"):
        obj = repo.get_hardware_object("/missing-ref")
    assert obj.get_object_by_role("good") is repo.get_hardware_object("/good")
    assert obj.get_object_by_role("shutter") is None
    messages = [r.getMessage() for r in caplog.records]
    expected = (
        "reference role 'shutter' of /missing-ref -> /no-such-object does not exist"
    )
    assert any(expected in m and "missing-ref.xml:3" in m for m in messages)
    record = next(r for r in repo.summary() if r.name == "/missing-ref")
    assert record.status == "warning"


def test_unknown_channel_type(make_repo):
    repo = make_repo(BAD)
    obj = repo.get_hardware_object("/unknown-type")
    assert obj.get_channel_value("position") == 3
    with pytest.raises(ConfigError) as info:
        obj.get_channel_object("ring_current")
    message = str(info.value)
    assert "unknown command/channel type 'epicsxyz'" in message
    assert "unknown-type.xml" in message
    record = next(r for r in repo.summary() if r.name == "/unknown-type")
    assert record.status == "warning"
    assert "unknown-type.xml:3" in record.error
    assert "channel 'ring_current'" in record.error


def test_control_system_unavailable(make_repo, brokenlib_type):
    repo = make_repo(BAD)
    obj = repo.get_hardware_object("/unavailable")
    record = next(r for r in repo.summary() if r.name == "/unavailable")
    assert "type 'brokenlib' is unavailable" in record.error
    assert "pytine_client_library_not_installed" in record.error
    assert "unavailable.xml:3" in record.error
    # The other channels are there; a server that is down loads disconnected.
    assert obj.get_channel_value("position") == 3
    beam = obj.get_channel_object("beam")
    assert not beam.is_connected()


def test_entity_expansion_bomb_is_refused_quickly(make_repo):
    repo = make_repo(BAD)
    started = time.perf_counter()
    error = _load_error(repo, "/bomb")
    elapsed = time.perf_counter() - started
    # libxml2 refuses the amplification itself; the DOCTYPE check would refuse
    # the file otherwise. Either way nothing is expanded.
    assert "Maximum entity amplification factor exceeded" in str(
        error
    ) or "DOCTYPE declarations are not allowed" in str(error)
    assert (error.file, error.obj) == (_file("bomb.xml"), "/bomb")
    assert error.line is not None
    assert elapsed < 5.0  # a generous bound: expansion would take minutes


def test_external_entities_are_never_resolved(make_repo):
    error = _load_error(make_repo(BAD), "/xxe")
    assert "DOCTYPE declarations are not allowed" in str(error)
    assert "root:" not in str(error)


def test_undeclared_entity_is_malformed(make_repo):
    error = _load_error(make_repo(BAD), "/undeclared-entity")
    assert "Entity 'nbsp' not defined" in str(error)
    assert error.line == 2


def test_no_eval_of_configuration_values(make_repo, tmp_path):
    obj = make_repo(BAD).get_hardware_object("/evil-value")
    assert (
        obj.get_property("speed") == "__import__('os').system('touch /tmp/hwr-pwned')"
    )
    assert obj.get_channel_value("position") == "__import__('os').getcwd()"


def test_no_eval_or_exec_anywhere_in_the_package():
    root = pathlib.Path(HardwareRepository.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("eval", "exec")
            ):
                offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


def test_one_bad_object_never_stops_the_others(make_repo, brokenlib_type):
    repo = make_repo(BAD)
    records = {r.name: r for r in repo.load_all()}
    assert records["/good"].status == "ok"
    assert repo.get_hardware_object("/good").get_channel_value("position") == 1.0
    failed = {name for name, r in records.items() if r.status == "failed"}
    assert failed == {
        "/bomb",
        "/cycle-b",
        "/import-error",
        "/init-raises",
        "/malformed",
        "/missing-module",
        "/no-class",
        "/no-such-object",  # the missing target of /missing-ref is listed too
        "/not-a-hwo",
        "/undeclared-entity",
        "/unknown-class",
        "/xxe",
    }
    for name in failed - {"/no-such-object"}:  # a missing file has no file
        error = records[name].errors[0]
        assert error.file, name
        assert error.obj == name
    text = repo.summary_text()
    assert text.splitlines()[0].split() == [
        "object",
        "class",
        "file",
        "ms",
        "status",
        "error",
    ]
    assert "/malformed" in text
    assert "malformed XML" in text
    data = repo.summary_data()
    assert {row["object"] for row in data} == set(records)
    row = next(row for row in data if row["object"] == "/init-raises")
    assert row["status"] == "failed"
    assert "calib.h5" in row["error"]
    assert row["class"] == "InitRaises"


def test_strict_mode_raises_on_first_problem(make_repo):
    repo = make_repo(BAD, strict=True)
    # the referenced object is loaded first, so its own error comes first
    with pytest.raises(ConfigError, match=r"no file no-such-object\.xml"):
        repo.get_hardware_object("/missing-ref")
    assert not repo.has_hardware_object("/missing-ref")
    with pytest.raises(ConfigError, match="malformed XML"):
        repo.load_all()


def test_a_configuration_directory_that_does_not_exist_is_an_error(tmp_path):
    # Issue #18: init_hardware_repository("configuration/nosuchdir") was
    # accepted silently, every later lookup then failing.
    from HardwareRepository.HardwareRepository import init_hardware_repository

    missing = tmp_path / "nosuchdir"
    with pytest.raises(ConfigError, match="does not exist") as info:
        init_hardware_repository(f"{tmp_path}{os.pathsep}{missing}")
    assert str(missing) in str(info.value)
    with pytest.raises(ConfigError, match="no configuration directory"):
        init_hardware_repository("")
