"""Fixtures of the EPICS tests: a caproto IOC in a child process, on loopback.

Channel Access reads its address list once per process, when pyepics creates
its context: the IOC is session-scoped, its address is put in the environment
(``EPICS_CA_ADDR_LIST=127.0.0.1:<port>``, ``EPICS_CA_AUTO_ADDR_LIST=NO``)
before pyepics loads, and tests that kill it start it again on the same port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from epics_helpers import PREFIX

from HardwareRepository.demo.processes import EpicsIocProcess


@pytest.fixture(scope="session")
def epics_ioc() -> Iterator[EpicsIocProcess]:
    ioc = EpicsIocProcess(PREFIX)
    saved = {k: os.environ.get(k) for k in ioc.client_environment()}
    os.environ.update(ioc.client_environment())
    ioc.start()
    try:
        from HardwareRepository.Command.channel_access import load_pyepics

        epics = load_pyepics()
        # Create libca's context, circuits and threads before any leak snapshot.
        assert epics.caget(PREFIX + "m1.RBV", timeout=10) is not None
        yield ioc
    finally:
        ioc.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
