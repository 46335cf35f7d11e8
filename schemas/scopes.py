"""The scopes a credential may hold, and which scope each MCP tool needs: part of the MCP service's contract
(token files and JWT scope claims name them). A tool not listed needs a scope nobody holds."""

from __future__ import annotations

READ_LOGS = "read:logs"
READ_INVENTORY = "read:inventory"
READ_SQL = "read:sql"
PROBE = "probe"
WRITE = "write"
APPROVE = "approve"
METRICS = "metrics"
SCOPES = (READ_LOGS, READ_INVENTORY, READ_SQL, PROBE, WRITE, APPROVE, METRICS)
