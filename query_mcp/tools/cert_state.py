"""The state of a monitored server certificate, by TWSNMP FK's rule (its cert monitor).

high: could not be fetched, or did not verify; low: expires within 7 days; warn: within 30 days;
info: valid longer than 825 days (beyond what browsers accept) or self-signed; normal otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

LOW_WITHIN = timedelta(days=7)
WARN_WITHIN = timedelta(days=30)
LONGEST_VALIDITY = timedelta(days=825)


def certificate_state(
    now: datetime, *, error: str, subject: str, issuer: str, verified: bool, not_before: datetime, not_after: datetime
) -> str:
    """high, low, warn, info or normal; `now` and the validity bounds in the same zone."""
    if error or not subject or not verified:
        return "high"
    if not_after < now + LOW_WITHIN:
        return "low"
    if not_after < now + WARN_WITHIN:
        return "warn"
    if not_after - not_before > LONGEST_VALIDITY or subject == issuer:
        return "info"
    return "normal"
