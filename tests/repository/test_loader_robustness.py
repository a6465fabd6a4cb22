"""Issue 17: the loader under bad and mutated configuration files.

The fixed failures each have a test; then a property-based test (hypothesis)
mutates small configuration files (attribute values, element text, duplicated
or removed elements, truncation) and checks that loading never raises, that
every problem names its file, and that the untouched objects still load.
"""

from __future__ import annotations

import logging
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from HardwareRepository.HardwareRepository import HardwareRepository
from HardwareRepository.testing.tango_servers import find_free_port

HWOBJECTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hwobjects")
NODE = "HardwareRepository.BaseHardwareObjects.HardwareObjectNode"


@pytest.fixture(scope="module", autouse=True)
def tango_client_ready() -> None:
    """Let omniORB open its process-wide descriptors before any leak snapshot.

    The Tango items of these files try to reach a port where nothing listens;
    the first such attempt in a process opens omniORB's pipes for good.
    """
    import tango

    try:
        tango.DeviceProxy(f"tango://127.0.0.1:{_PORT}/test/fuzz/1#dbase=no").ping()
    except tango.DevFailed:
        pass


def test_a_hardware_object_node_as_class_fails_that_object_only(
    make_repo, write, tmp_path
):
    write(
        tmp_path,
        "a-node.xml",
        f'<object class="{NODE}"><channel type="sim" name="c" value="1">C</channel>'
        "</object>",
    )
    write(
        tmp_path,
        "b-node-inside.xml",
        f'<equipment class="RecordingObject"><device class="{NODE}" name="n">'
        '<channel type="sim" name="c" value="1">C</channel></device></equipment>',
    )
    write(
        tmp_path,
        "z-good.xml",
        '<object class="RecordingObject"><channel type="sim" name="position" '
        'value="1.0">P</channel></object>',
    )
    repo = make_repo(str(tmp_path))
    records = {r.name: r for r in repo.load_all()}
    assert records["/a-node"].status == "failed"
    assert "not a HardwareObject" in records["/a-node"].error
    assert "a-node.xml" in records["/a-node"].error
    assert records["/b-node-inside"].status == "failed"
    assert records["/z-good"].status == "ok"  # the objects after it load
    assert repo.get_hardware_object("/z-good").get_channel_value("position") == 1.0


def test_duplicate_item_names_are_warnings_and_keep_the_first(
    make_repo, write, tmp_path
):
    write(
        tmp_path,
        "dup.xml",
        '<object class="RecordingObject">\n'
        '<channel type="sim" name="position" value="1.0">P</channel>\n'
        '<channel type="sim" name="position" value="2.0">P</channel>\n'
        '<command type="sim" name="go">Go</command>\n'
        '<command type="sim" name="go">Go</command>\n'
        "</object>",
    )
    repo = make_repo(str(tmp_path))
    [record] = repo.load_all()
    assert record.status == "warning"
    messages = [str(w) for w in record.warnings]
    assert any(
        "dup.xml:3" in m and "duplicate channel name 'position'" in m for m in messages
    )
    assert any(
        "dup.xml:5" in m and "duplicate command name 'go'" in m for m in messages
    )
    obj = repo.get_hardware_object("/dup")
    assert obj.get_channel_value("position") == 1.0


def test_a_failed_item_logs_its_real_traceback(make_repo, write, tmp_path, caplog):
    write(
        tmp_path,
        "bad-item.xml",
        '<object class="RecordingObject">'
        '<channel type="tango" name="c" tangoname="a/b/c" polling="often">C</channel>'
        "</object>",
    )
    caplog.set_level(logging.WARNING)
    repo = make_repo(str(tmp_path))
    repo.load_all()
    [warning] = [r for r in caplog.records if "polling='often'" in r.getMessage()]
    text = caplog.text
    assert "NoneType: None" not in text
    assert warning.exc_info is not None
    assert warning.exc_info[0] is not None
    assert "Traceback" in text


def test_a_second_shutdown_says_so(make_repo, write, tmp_path, caplog):
    write(tmp_path, "one.xml", '<object class="RecordingObject"/>')
    repo = make_repo(str(tmp_path))
    repo.load_all()
    assert repo.shutdown() == []
    caplog.set_level(logging.INFO, "HardwareRepository")
    assert repo.shutdown() == []
    assert "already shut down" in caplog.text


# -- property-based: mutated configuration files ---------------------------------
_PORT = find_free_port()  # nothing listens there: Tango items load disconnected
SEEDS = {
    "alpha.xml": (
        '<object class="RecordingObject">\n'
        "  <speed>2.5</speed>\n"
        '  <channel type="sim" name="position" value="1.0">Position</channel>\n'
        '  <command type="sim" name="move" value="1">Move</command>\n'
        "</object>\n"
    ),
    "beta.xml": (
        '<object class="RecordingObject">\n'
        f"  <tangoname>tango://127.0.0.1:{_PORT}/test/fuzz/1#dbase=no</tangoname>\n"
        '  <channel type="tango" name="position" polling="500">Position</channel>\n'
        '  <channel type="tango" name="state" timeout="2000">State</channel>\n'
        '  <command type="tango" name="stop" timeout="3000">Stop</command>\n'
        "</object>\n"
    ),
    "gamma.xml": (
        '<equipment class="RecordingObject">\n'
        '  <object href="/alpha" role="alpha"/>\n'
        '  <channel type="sim" name="position" value="2">X</channel>\n'
        "</equipment>\n"
    ),
}
# gamma refers to alpha: a broken alpha may leave gamma with a warning.
DEPENDS = {"gamma.xml": {"alpha.xml"}}

NASTY = st.sampled_from(
    [
        "",
        "nan",
        "inf",
        "-1",
        "0",
        "1e-300",
        "1e300",
        "99999999999",
        "events",
        "True",
        "tango",
        "sim",
        "epicsxyz",
        NODE,
        "os.system",
        "../../etc/passwd",
        "/alpha",
        "\u00e9\u00e8",
    ]
) | st.text(max_size=12)


def _mutate(text: str, data: st.DataObject) -> str:
    root = etree.fromstring(text.encode())
    elements = list(root.iter())
    target = data.draw(st.sampled_from(elements), label="element")
    action = data.draw(
        st.sampled_from(
            ["attr", "new-attr", "text", "duplicate", "remove", "truncate"]
        ),
        label="action",
    )
    if action == "attr" and target.attrib:
        key = data.draw(st.sampled_from(sorted(target.attrib)), label="attribute")
        target.set(key, _clean(data.draw(NASTY, label="value")))
    elif action == "new-attr":
        key = data.draw(
            st.sampled_from(["polling", "timeout", "name", "type", "class", "value"]),
            label="new attribute",
        )
        target.set(key, _clean(data.draw(NASTY, label="value")))
    elif action == "text":
        target.text = _clean(data.draw(NASTY, label="text"))
    elif action == "duplicate" and target is not root:
        target.addnext(etree.fromstring(etree.tostring(target)))
    elif action == "remove" and target is not root:
        target.getparent().remove(target)
    serialised = etree.tostring(root, encoding="unicode")
    if action == "truncate":
        cut = data.draw(st.integers(0, len(serialised)), label="cut")
        serialised = serialised[:cut]
    return serialised


def _clean(value: str) -> str:
    # XML cannot hold control characters; the loader never sees them.
    return "".join(c for c in value if c.isprintable())


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_configuration_never_breaks_the_loader(data):
    victim = data.draw(st.sampled_from(sorted(SEEDS)), label="file")
    with tempfile.TemporaryDirectory() as directory:
        for name, text in SEEDS.items():
            body = _mutate(text, data) if name == victim else text
            with open(os.path.join(directory, name), "w") as handle:
                handle.write(body)
        repo = HardwareRepository(directory, hardware_objects_dirs=[HWOBJECTS])
        try:
            records = {r.name: r for r in repo.load_all()}  # never raises
            repo.summary_text()
        finally:
            repo.shutdown(timeout=5.0)
    for name in SEEDS:
        record = records[f"/{name[:-4]}"]
        if name == victim:
            for problem in [*record.errors, *record.warnings]:
                assert problem.file, problem
                assert problem.file.endswith(victim), problem
        elif victim in DEPENDS.get(name, ()):
            assert record.status in ("ok", "warning"), record
        else:
            assert record.status == "ok", record
