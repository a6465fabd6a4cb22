"""``beamline_config.yml``: HWR.beamline and its roles, both layouts, and bad input.

The objects are this package's own (sim channels, the Beamline class), so
nothing here needs mxcubecore.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from HardwareRepository.errors import ConfigError

HWOBJECTS = str(Path(__file__).resolve().parent / "hwobjects")

BEAMLINE = """
    class: Beamline.Beamline
    objects: !!omap
      - energy: energy.xml
      - safety_shutter: shutter.xml
      - diffractometer: diffractometer.yml
    configuration:
      tunable_wavelength: true
      undulators: [u1, u2]
"""
DIFFRACTOMETER = """
    class: HardwareRepository.BaseHardwareObjects.HardwareObject
    objects:
      phi: phi.xml
    configuration:
      head_type: MD3
"""


def simple(text: str = "1.0") -> str:
    return f'<object><channel type="sim" name="value" value="{text}"/></object>'


@pytest.fixture
def beamline_files(write):
    write("beamline_config.yml", BEAMLINE)
    write("diffractometer.yml", DIFFRACTOMETER)
    write("energy.xml", simple("12.4"))
    write("shutter.xml", simple("0"))
    write("phi.xml", simple("45"))


def test_beamline_roles_from_yaml(hwr, cfg, beamline_files, caplog):
    with caplog.at_level(logging.INFO):
        repo = hwr.init_hardware_repository(cfg)
    beamline = hwr.beamline
    assert type(beamline).__name__ == "Beamline"
    assert beamline.energy is repo.get_hardware_object("/energy")
    assert beamline.energy.get_channel_value("value") == 12.4
    assert beamline.safety_shutter.get_channel_value("value") == 0
    phi = beamline.diffractometer.phi
    assert phi.get_channel_value("value") == 45
    assert phi.id == "diffractometer.phi"
    assert beamline.get_by_id("diffractometer.phi") is phi
    assert beamline.diffractometer.get_property("head_type") == "MD3"
    assert beamline.get_property("undulators") == ["u1", "u2"]
    assert beamline.config.tunable_wavelength is True
    assert beamline.all_roles == ("energy", "safety_shutter", "diffractometer")
    assert beamline.flux is None  # a role mxCuBE knows, not configured
    with pytest.raises(AttributeError):
        _ = beamline.no_such_thing
    assert list(beamline.objects_by_role) == list(beamline.all_roles)
    # load order is the file's order; the summary has one row per YAML file
    rows = {r.role: r for r in repo.summary() if r.role}
    assert rows["beamline"].status == "ok"
    assert rows["diffractometer"].class_name.endswith("HardwareObject")
    assert "beamline_config" in caplog.text
    # signals re-emitted at GUI start
    states = []
    phi.connect("stateChanged", states.append)
    beamline.force_emit_signals()
    assert len(states) == 2  # once on connect, once re-emitted


def test_old_layout_with_initialise_class(hwr, cfg, write):
    write(
        "beamline_config.yml",
        """
        _initialise_class:
          class: Beamline.Beamline
        _objects: !!omap
          - energy: energy.xml
        tunable_wavelength: false
        """,
    )
    write("energy.xml", simple("7"))
    hwr.init_hardware_repository(cfg)
    assert hwr.beamline.energy.get_channel_value("value") == 7
    assert hwr.beamline.get_property("tunable_wavelength") is False


def test_load_from_yaml_needs_a_repository(hwr):
    with pytest.raises(Exception, match="init_hardware_repository"):
        hwr.load_from_yaml("beamline_config.yml", "beamline")


def rows_by_role(repo):
    return {r.role: r for r in repo.summary() if r.role}


def test_bad_entries_are_reported_and_the_rest_loads(hwr, cfg, write):
    write(
        "beamline_config.yml",
        """
        class: Beamline.Beamline
        objects: !!omap
          - energy: energy.xml
          - flux: missing.xml
          - wizard: wizard.xml
          - detector: detector.yml
          - sample_changer: changer.yml
          - cryo: evil.yml
          - beam: beam.xml
        """,
    )
    write("energy.xml", simple("1"))
    write("wizard.xml", simple("2"))
    write("beam.xml", simple("3"))
    write("detector.yml", "class: NoSuchModule.NoSuchClass\n")
    write("changer.yml", "class: Beamline.Beamline\nobjects: [unclosed\n")
    write(
        "evil.yml",
        "class: Beamline.Beamline\nconfiguration:\n"
        "  x: !!python/object/apply:os.system ['true']\n",
    )
    repo = hwr.init_hardware_repository(cfg)
    beamline = hwr.beamline
    # the rest loads
    assert beamline.energy.get_channel_value("value") == 1
    assert beamline.beam.get_channel_value("value") == 3
    assert beamline.wizard.get_channel_value("value") == 2  # attached all the same
    assert beamline.flux is None
    assert beamline.detector is None
    top = rows_by_role(repo)["beamline"]
    problems = [str(w) for w in top.warnings]
    config = str(cfg / "beamline_config.yml")
    assert any(
        f"{config}:4" in p and "'flux'" in p and "no file missing.xml" in p
        for p in problems
    )
    assert any(
        f"{config}:5" in p and "No such role 'wizard' in class Beamline" in p
        for p in problems
    )
    rows = rows_by_role(repo)
    assert rows["detector"].status == "failed"
    assert "no module for class='NoSuchModule.NoSuchClass'" in rows["detector"].error
    assert rows["sample_changer"].status == "failed"
    assert f"{cfg / 'changer.yml'}:" in rows["sample_changer"].error
    assert "YAML:" in rows["sample_changer"].error
    assert rows["cryo"].status == "failed"
    assert f"{cfg / 'evil.yml'}:3" in rows["cryo"].error
    assert "python/object/apply:os.system" in rows["cryo"].error
    assert "safe loader" in rows["cryo"].error


def test_a_class_that_fails_to_import(hwr, cfg, write, tmp_path):
    classes = tmp_path / "classes"
    classes.mkdir()
    (classes / "Broken.py").write_text("import no_such_dependency\n")
    write(
        "beamline_config.yml",
        "class: Beamline.Beamline\nobjects:\n  energy: energy.yml\n  beam: beam.xml\n",
    )
    write("energy.yml", "class: Broken.Broken\n")
    write("beam.xml", simple("3"))
    repo = hwr.init_hardware_repository(cfg, hardware_objects_dirs=[str(classes)])
    row = rows_by_role(repo)["energy"]
    assert row.status == "failed"
    assert "importing module Broken" in row.error
    assert "no_such_dependency" in row.error
    assert hwr.beamline.beam.get_channel_value("value") == 3


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("class: Beamline.Beamline\nobjects: {a: a.xml\n", 3, "YAML:"),
        ("objects: {}\n", 1, "no 'class'"),
        (
            "class: Beamline.Beamline\nobjects:\n  a: a.xml\n  a: b.xml\n",
            4,
            "given twice",
        ),
        ("class: Beamline.Beamline\nspeed: 3\n", 2, "unknown top-level keys"),
        ("- just\n- a list\n", 1, "expected a mapping"),
        ("class: !!python/name:os.system\n", 1, "safe loader"),
    ],
)
def test_top_file_errors_name_file_and_line(hwr, cfg, write, text, line, message):
    write("beamline_config.yml", text)
    repo = hwr.init_hardware_repository(cfg)  # the repository is still usable
    assert hwr.beamline is None
    row = rows_by_role(repo)["beamline"]
    assert row.status == "failed"
    assert f"beamline_config.yml:{line} " in row.error
    assert message in row.error
    with pytest.raises(ConfigError, match=message):
        hwr.init_hardware_repository(cfg, strict=True)


def test_configured_object_model_is_validated(hwr, cfg, write):
    write(
        "beamline_config.yml",
        "class: Beamline.Beamline\nobjects:\n  session: session.yml\n"
        "  lims: lims.yml\n",
    )
    write(
        "session.yml",
        "class: MxcubeStyle.Session\nconfiguration:\n  beamline_name: ID30\n",
    )
    write("lims.yml", "class: MxcubeStyle.Session\nconfiguration:\n  other: 1\n")
    repo = hwr.init_hardware_repository(cfg, hardware_objects_dirs=[HWOBJECTS])
    session = hwr.beamline.session
    assert session.config.beamline_name == "ID30"
    assert session.config.synchrotron_name == "ESRF"
    assert session.get_property("beamline_name") == "ID30"
    row = rows_by_role(repo)["lims"]
    assert row.status == "failed"
    assert f"{cfg / 'lims.yml'}:1 " in row.error
    assert "does not fit Session.HOConfig" in row.error
    assert "beamline_name" in row.error
    assert hwr.beamline.lims is None


def test_mxcubecore_class_without_install_is_refused_before_import(hwr, cfg, write):
    import sys

    write(
        "beamline_config.yml",
        "class: Beamline.Beamline\nobjects:\n  energy: energy.xml\n",
    )
    write(
        "energy.xml",
        '<object class="mxcubecore.HardwareObjects.mockup.EnergyMockup"/>',
    )
    had_mxcubecore = "mxcubecore" in sys.modules
    repo = hwr.init_hardware_repository(cfg)
    record = repo.get_summary_row("/energy")
    assert record.status == "failed"
    assert "call HardwareRepository.compat.mxcubecore.install()" in record.error
    assert ("mxcubecore" in sys.modules) == had_mxcubecore  # nothing imported
    assert hwr.beamline.energy is None
