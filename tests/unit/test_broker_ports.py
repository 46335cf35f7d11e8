"""netobs.broker.free_ports: the embedded broker's own listeners never share a port with each other or its
client port, which is chosen (by the user or a test) but not yet bound when they are."""

from __future__ import annotations

from netobs.broker import free_port, free_ports, listening


def test_ports_are_distinct_free_and_not_the_one_to_avoid() -> None:
    for _ in range(200):
        avoid = free_port()
        ports = free_ports(3, avoid=avoid)
        assert len(set(ports)) == 3 and avoid not in ports
    assert not any(listening(port) for port in ports)
