"""Who may do what on the embedded broker: one principal per stage, its credentials, and its ACLs.

The broker refuses clients without credentials (SASL on every listener) and denies what no ACL allows
(StandardAuthorizer, allow.everyone.if.no.acl.found=false). netobs itself is the only super user: it logs
in with SASL/PLAIN against the broker's own (0600) configuration, which works on a data directory
formatted before authentication existed, then upserts each stage's SCRAM-SHA-512 credential and creates
its ACLs on every start (both idempotent). Stages log in with SCRAM-SHA-512; only the salted password is
stored in the broker's metadata.

Passwords are generated once into DATA_DIR/kafka-credentials/<principal> (mode 0600) and never appear on
a command line or in a log.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from common.kafka_client import KafkaAccess, admin
from schemas.topics import (
    COMMAND_RESULTS,
    COMMANDS,
    EVENTS,
    INVENTORY,
    MCP_AUDIT,
    POLL_RESULTS,
    SNMP_TRAPS,
    SYSLOG_RAW,
)

STAGE_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192

STAGES = ("ingest", "traps", "poller", "worker", "executor", "mcp")
"""One principal each, named netobs-<stage>. RELP and the other syslog receivers are `ingest`; replay runs as
`worker` (it rewinds the worker's group); `netobs inventory seed` runs as `executor` (it writes inventory)."""


def principal(stage: str) -> str:
    return f"netobs-{stage}"


# --- ACLs: the least each stage needs ------------------------------------------------------------

TOPIC, GROUP = 2, 3
READ, WRITE, CREATE, DELETE, DESCRIBE, ALL = 3, 4, 5, 6, 8, 2
LITERAL, PREFIXED = 3, 4
ALLOW = 3


@dataclass(frozen=True)
class Acl:
    """Allow `principal` to do `operation` on a topic or group named (or prefixed by) `name`."""

    principal: str
    resource: int
    name: str
    operation: int
    pattern: int = LITERAL


def _reads(who: str, *topics: str) -> list[Acl]:
    return [Acl(who, TOPIC, t, op) for t in topics for op in (READ, DESCRIBE)]


def _writes(who: str, *topics: str) -> list[Acl]:
    return [Acl(who, TOPIC, t, op) for t in topics for op in (WRITE, DESCRIBE)]


def _group(who: str, prefix: str, *extra: int) -> list[Acl]:
    return [Acl(who, GROUP, prefix, op, PREFIXED) for op in (READ, DESCRIBE, *extra)]


def acls(worker_group: str, executor_group: str) -> list[Acl]:
    """Every ACL of the stage principals; the groups are the configured consumer group ids (prefixes).

    The worker also owns the topics prefixed by its group id: Faust creates its own (the assignor's
    leader topic) there. Its group may be deleted, which `netobs replay` does to rewind it.
    """
    ingest, traps, poller, worker, executor, mcp = (principal(s) for s in STAGES)
    return [
        *_writes(ingest, SYSLOG_RAW),
        *_writes(traps, SNMP_TRAPS),
        *_writes(poller, POLL_RESULTS),
        *_reads(poller, INVENTORY),
        *_reads(worker, SYSLOG_RAW, SNMP_TRAPS, POLL_RESULTS, INVENTORY, EVENTS, MCP_AUDIT, COMMAND_RESULTS),
        *_writes(worker, EVENTS),
        *_group(worker, worker_group, DELETE),
        Acl(worker, TOPIC, f"{worker_group}-", ALL, PREFIXED),
        *_reads(executor, COMMANDS, COMMAND_RESULTS, INVENTORY),
        *_writes(executor, COMMAND_RESULTS, INVENTORY, EVENTS),
        *_group(executor, executor_group),
        *_writes(mcp, COMMANDS, MCP_AUDIT, COMMAND_RESULTS),
        *_reads(mcp, COMMAND_RESULTS),
    ]


# --- credentials on disk -------------------------------------------------------------------------


def credentials_dir(data_dir: Path) -> Path:
    return data_dir / "kafka-credentials"


def password_file(data_dir: Path, name: str) -> Path:
    """The file holding `name`'s password, created (0600, in a 0700 directory) with a random one if missing."""
    directory = credentials_dir(data_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path


def password(data_dir: Path, name: str) -> str:
    return password_file(data_dir, name).read_text().strip()


def stage_access(data_dir: Path, bootstrap: str, stage: str) -> KafkaAccess:
    """How the stage connects to the embedded broker."""
    name = principal(stage)
    return KafkaAccess(bootstrap, STAGE_MECHANISM, name, password(data_dir, name))


def stage_environment(data_dir: Path, stage: str) -> dict[str, str]:
    """NETOBS_KAFKA_SASL_* for a child running `stage`: the path of its own password, not the password."""
    name = principal(stage)
    return {
        "NETOBS_KAFKA_SASL_MECHANISM": STAGE_MECHANISM,
        "NETOBS_KAFKA_SASL_USERNAME": name,
        "NETOBS_KAFKA_SASL_PASSWORD_FILE": str(password_file(data_dir, name).resolve()),
    }


# --- applying them: SCRAM credentials (AlterUserScramCredentials) and ACLs (CreateAcls) ------------


class _ScramResponse(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _ScramRequestV0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _ScramResponse
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _ScramRequest(Request[_ScramRequestV0]):
    """AlterUserScramCredentials v0 (KIP-554), which aiokafka does not offer."""

    API_KEY: ClassVar[int] = 51

    def __init__(self, upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]]) -> None:
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_ScramRequestV0]) -> _ScramRequestV0:
        return request_struct_class([], self._upsertions, {})


_SCRAM_SHA_512 = 2  # the mechanism's id in AlterUserScramCredentials


def _upsertion(name: str, secret: str) -> tuple[str, int, int, bytes, bytes, dict[int, bytes]]:
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, SCRAM_ITERATIONS)
    return (name, _SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {})


class AuthSetupError(RuntimeError):
    """The broker refused a credential or ACL netobs sets up for its stages."""


async def apply(super_user: KafkaAccess, data_dir: Path, worker_group: str, executor_group: str) -> None:
    """Upsert every stage's SCRAM credential and create its ACLs, as the super user (idempotent)."""
    client = admin(super_user, request_timeout_ms=30_000)
    await client.start()
    try:
        users = [_upsertion(principal(s), password(data_dir, principal(s))) for s in STAGES]
        response = await client._send_to_controller(_ScramRequest(users))
        for user, code, message, _ in response.results:
            if code:
                raise AuthSetupError(f"SCRAM credential of {user}: {for_code(code).__name__} {message or ''}")
    finally:
        await client.close()
    await create_acls(super_user, acls(worker_group, executor_group))


async def create_acls(super_user: KafkaAccess, wanted: list[Acl]) -> None:
    """Create ACLs (an existing one is left as it is), as the super user."""
    client = admin(super_user, request_timeout_ms=30_000)
    await client.start()
    try:
        for acl in wanted:
            request = CreateAclsRequest(
                acl.resource, acl.name, acl.pattern, f"User:{acl.principal}", "*", acl.operation, ALLOW
            )
            reply = await client._send_to_controller(request)
            for code, message in reply.creation_responses:
                if code:
                    raise AuthSetupError(f"ACL {acl}: {for_code(code).__name__} {message or ''}")
    finally:
        await client.close()
