"""Parameter types that several tool families share, described once so every tool tells agents the same thing.

Closed sets are Literal (an enum in the input schema); bounded numbers carry ge/le (minimum/maximum), which
args.harden turns into a refusal naming the argument and its bounds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

StartTime = Annotated[
    str,
    Field(description='Start of the window: "-1h" (default), "-30m", "-2d" or "2025-10-27 00:00:00" (UTC).'),
]
EndTime = Annotated[str, Field(description='End of the window: "now" (default) or "2025-10-27 23:59:59" (UTC).')]

LogLimit = Annotated[int, Field(ge=1, le=10000, description="Maximum entries returned, 1-10000 (default 100).")]
Cursor = Annotated[
    str, Field(description="Blank for the first page; else the cursor of the previous result, with the same arguments.")
]
TopN = Annotated[int, Field(ge=1, le=100, description="Number of keys returned, 1-100 (default 10).")]
NewestFirst = Annotated[bool, Field(description="Return the newest entries of the window first.")]

SnmpMode = Annotated[
    Literal["", "v2c", "v3auth", "v3authpriv", "v3authprivex"],
    Field(description="v2c, v3auth, v3authpriv or v3authprivex; blank: the node's own credential."),
]
SetType = Annotated[
    Literal["integer", "string", "oid", "ipaddress", "counter32", "gauge32", "timeticks"],
    Field(description="The SNMP type of value."),
]
EventLevel = Annotated[Literal["info", "normal", "warn", "low", "high"], Field(description="The entry's level.")]
MapCoordinate = Annotated[int, Field(ge=1, le=1000, description="Map coordinate, 1-1000 (default 64).")]
MapCoordinateOrKeep = Annotated[int, Field(ge=0, le=1000, description="New map coordinate, 1-1000; 0 keeps it.")]
