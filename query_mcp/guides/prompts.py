"""Prompts: the investigations operators ask for most, written out as the tool calls that answer them.

TWSNMP FK ships prompts for its agent; these do the same for netobs's tools, with the arguments an agent would
otherwise have to guess (regex anchoring, time windows, which filter holds what). Each text is built by a pure
function from validated arguments, so a prompt is testable without a server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

from query_mcp.tools.timeexpr import TimeExprError, parse_time

_NAME = re.compile(r"[A-Za-z0-9_.:%/\[\]-]{1,253}")


class PromptArgumentError(ValueError):
    """An argument a prompt cannot use; the message names it and says what is accepted."""


def investigate_host(host: str, since: str = "-24h") -> str:
    host, since = _host(host), _since(since)
    anchored = f"^{re.escape(host)}$"
    return (
        f"Investigate the network device or server {host!r} over the window from {since} to now.\n\n"
        f"1. get_node_list with name_filter={anchored!r} (then ip_filter if nothing matches): is it managed, "
        "and in which state?\n"
        f"2. search_event_log with node_filter={anchored!r}, start_time={since!r}: its state changes, oldest "
        "first (newest_first=false).\n"
        f"3. get_syslog_summary with host_filter={anchored!r}, start_time={since!r}: which log patterns "
        "dominate; note the high and low levels.\n"
        f"4. search_syslog with host_filter={anchored!r}, level_filter='high|low', start_time={since!r}, "
        "limit=50: read the error lines themselves.\n\n"
        "Answer with: its current state; a timeline of what changed; the error patterns with counts; the "
        "most likely cause; and the next checks you suggest (a ping, an SNMP walk), but do not "
        "run anything that changes the device without asking."
    )


def explain_pattern(pattern: str, since: str = "-24h") -> str:
    pattern, since = _text("pattern", pattern), _since(since)
    return (
        f"Explain the syslog pattern {pattern!r} seen since {since}.\n\n"
        f"1. get_syslog_summary with start_time={since!r} and a message_filter taken from the fixed words of "
        "the pattern (RE2, case-sensitive; prefix (?i) to ignore case): how often it occurs, and beside which "
        "patterns.\n"
        f"2. search_syslog with the same message_filter, start_time={since!r}, limit=20: real lines, their "
        "hosts and tags.\n\n"
        "Answer with: what the message means for the vendor and process that logs it (name them from the tag "
        "and the text), whether it signals a fault or is routine, which hosts send it and since when, and what "
        "an operator should do about it."
    )


def daily_network_report(day: str = "-24h") -> str:
    since = _since(day)
    return (
        f"Write the network report for the window from {since} to now.\n\n"
        "1. get_node_list: how many nodes, and which are not normal.\n"
        f"2. search_event_log with start_time={since!r}, level_filter='high|low|warn': what failed and what "
        "recovered.\n"
        f"3. get_syslog_summary with start_time={since!r}, level_filter='high|low|warn': the problem patterns "
        "and their counts.\n"
        f"4. search_snmp_trap_log with start_time={since!r}, limit=50: notable traps (link down/up, auth "
        "failures, restarts).\n\n"
        "Report in sections: summary (one paragraph), incidents (time, node, what, resolved or not), noisy "
        "sources, and recommendations. Name hosts and times exactly as the tools return them (UTC)."
    )


def check_certificates(days: str = "30") -> str:
    window = _days(days)
    return (
        "Check the server certificates netobs has seen.\n\n"
        "1. get_server_certificate_list: every certificate with its subject, issuer, validity and state.\n\n"
        f"List, most urgent first: certificates already expired; those expiring within {window} days "
        "(with the date); those that failed verification (name the error); and self-signed ones on servers "
        "that should not have one. For each, say which server:port presents it and what to renew or fix."
    )


def failing_pollings() -> str:
    return (
        "Find the pollings that are failing and say why.\n\n"
        "1. get_polling_list with state_filter='high|low|warn|unknown': the pollings not in normal state.\n"
        "2. For each of them (at most 10, worst first), get_polling_log with its id and limit=20: recent "
        "results and errors.\n"
        "3. search_event_log with type_filter='polling', start_time='-24h': when each started failing.\n\n"
        "Answer with a table: node, polling, type, state, failing since, last error, likely cause (node down, "
        "credential, threshold, service), and what to check first."
    )


def register(server: MCPServer) -> None:
    """Add the prompts to the server; the guard lists and gives each only to a principal that may call its tools."""

    @server.prompt(name="investigate_host", title="Investigate a host")
    def _investigate_host(
        host: Annotated[str, Field(description="Host name or address as it appears in syslog and the inventory")],
        since: Annotated[str, Field(description='Start of the window: "-24h", "-7d" or "2026-01-31 00:00:00"')] = (
            "-24h"
        ),
    ) -> str:
        """State, events, error patterns and error lines of one host, and the likely cause."""
        return _rendered(investigate_host, host, since)

    @server.prompt(name="explain_pattern", title="Explain a log pattern")
    def _explain_pattern(
        pattern: Annotated[str, Field(description="A pattern from get_syslog_summary, or a line's fixed words")],
        since: Annotated[str, Field(description='Start of the window, e.g. "-24h"')] = "-24h",
    ) -> str:
        """What a syslog pattern means, how often and from where it comes, and what to do."""
        return _rendered(explain_pattern, pattern, since)

    @server.prompt(name="daily_network_report", title="Daily network report")
    def _daily_network_report(
        day: Annotated[str, Field(description='Start of the window the report covers, e.g. "-24h"')] = "-24h",
    ) -> str:
        """Incidents, problem patterns, traps and node states of a day, as a report."""
        return _rendered(daily_network_report, day)

    @server.prompt(name="check_certificates", title="Check server certificates")
    def _check_certificates(
        days: Annotated[str, Field(description="Warn about certificates expiring within this many days")] = "30",
    ) -> str:
        """Expired, expiring, unverified and self-signed server certificates."""
        return _rendered(check_certificates, days)

    @server.prompt(name="failing_pollings", title="Failing pollings")
    def _failing_pollings() -> str:
        """The pollings not in normal state, since when and why."""
        return _rendered(failing_pollings)


def _rendered(build: Callable[..., str], *args: str) -> str:
    """A prompt's text; an argument it cannot use is the client's error (invalid params), with the message."""
    try:
        return build(*args)
    except PromptArgumentError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None


def _host(value: str) -> str:
    value = value.strip()
    if not _NAME.fullmatch(value):
        raise PromptArgumentError(
            "host: a host name or address (letters, digits, . - _ : % / [ ]; at most 253), e.g. core-sw1 or 10.0.0.1"
        )
    return value


def _text(name: str, value: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > 1000:
        raise PromptArgumentError(f"{name}: 1 to 1000 characters of text")
    return value


def _since(value: str) -> str:
    value = value.strip() or "-24h"
    try:
        parse_time(value, datetime.now(UTC), "-24h")
    except TimeExprError as exc:
        raise PromptArgumentError(f"since: {exc}") from None
    return value


def _days(value: str) -> int:
    try:
        days = int(value.strip())
    except ValueError:
        days = -1
    if not 1 <= days <= 3650:
        raise PromptArgumentError("days: a whole number of days from 1 to 3650")
    return days
