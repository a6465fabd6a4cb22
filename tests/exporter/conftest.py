"""Fixtures of the Exporter tests: the SIMULATED MD server in a child process.

The shared server is module-scoped (started before the first test's leak
snapshot); tests that kill and restart a server start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exporter_helpers import Recorder, connected_client

from HardwareRepository.Command.exporter import ExporterClient
from HardwareRepository.demo.processes import MDServerProcess


@pytest.fixture(scope="module")
def md_server() -> Iterator[MDServerProcess]:
    with MDServerProcess(tick=0.02) as server:
        yield server


@pytest.fixture
def client(md_server) -> Iterator[tuple[ExporterClient, Recorder]]:
    client, recorder = connected_client(md_server, late_reply_grace=0.5)
    yield client, recorder
    client.close()
