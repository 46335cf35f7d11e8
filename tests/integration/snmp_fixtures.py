"""Fixtures for tests that need a real SNMP agent (tests/snmpd.py); import them in a conftest.

`snmpd_shared` is one agent for the whole session, for tests that only read. `snmpd` is a fresh agent of
the test's own, for tests that stop, restart or write to it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.snmpd import Snmpd

ARP_IP = "192.0.2.77"
ARP_MAC = "02:00:c0:ff:ee:01"
ARP_CONFIG = (f"override 1.3.6.1.2.1.4.22.1.2.1.{ARP_IP} octet_str 0x{ARP_MAC.replace(':', '')}",)
"""A known ipNetToMediaPhysAddress row (ifIndex 1), so ARP learning has something certain to find."""


@pytest.fixture(scope="session")
def snmpd_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A running agent shared by the session (do not stop or write to it), with the known ARP row."""
    with Snmpd(tmp_path_factory.mktemp("snmpd-shared"), extra_config=ARP_CONFIG) as agent:
        yield agent


@pytest.fixture
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A running agent of this test's own: stop, restart and set as it likes."""
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"))
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
