"""Parameter types that several tool families share, described once so every tool tells agents the same thing."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

StartTime = Annotated[
    str,
    Field(description='Start of the window: "-1h" (default), "-30m", "-2d" or "2025-10-27 00:00:00" (UTC).'),
]
EndTime = Annotated[str, Field(description='End of the window: "now" (default) or "2025-10-27 23:59:59" (UTC).')]
