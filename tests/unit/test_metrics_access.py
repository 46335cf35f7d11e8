"""metrics.access=token: the endpoint answers a credential with the metrics scope and no other, as MCP's
/metrics does; open answers anyone who reaches the port."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from netobs import config as config_mod
from netobs import metrics_endpoint
from query_mcp.auth import tokens
from query_mcp.auth.credentials import tokens_path
from tests import brokers


def _get(port: int, token: str | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert b"process_resident_memory_bytes" in response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("access", ["token", "open"])
def test_the_metrics_scope_is_needed_unless_open(tmp_path, access):
    port = brokers.free_port()
    env = {"NETOBS_DATA_DIR": str(tmp_path), "NETOBS_METRICS_PORT": str(port), "NETOBS_METRICS_ACCESS": access}
    config = config_mod.load(None, env)
    path = tokens_path(config.mcp, tmp_path)
    reader = tokens.add(path, "reader", frozenset({"read:logs"}), None)
    grafana = tokens.add(path, "grafana", frozenset({"metrics"}), None)
    with metrics_endpoint.serving(config, metrics_endpoint.registry(), "test"):
        codes = {name: _get(port, t) for name, t in (("none", None), ("reader", reader), ("grafana", grafana))}
        codes["wrong"] = _get(port, "not-a-token-at-all-0123456789")
    if access == "token":
        assert codes == {"none": 401, "reader": 401, "grafana": 200, "wrong": 401}
    else:
        assert set(codes.values()) == {200}
