"""HTTP probe: status code and latency of one request, each on a fresh connection.

aiohttp comes with faust-streaming (a dependency already). Every poll opens its own connection
(force_close) so latency includes connect and TLS as a user would see them, and redirects are not
followed: the status is the one the URL itself answers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import aiohttp

from ingest.pollers.probe import BadParam, Measurement, bool_param, fail, ms_since, ok

MAX_BODY_BYTES = 1024 * 1024
"""Bytes of body read (and timed); the rest is not downloaded."""
METHODS = ("GET", "HEAD")


def parse_statuses(spec: str) -> list[tuple[int, int]]:
    """ "200-399", "200", "200,204,301-302" as inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise BadParam(f"param expect_status: codes or ranges like 200-399,404, got {spec!r}") from None
        if not 100 <= first <= last <= 599:
            raise BadParam(f"param expect_status: codes are 100-599 and ranges ascend, got {part.strip()!r}")
        ranges.append((first, last))
    return ranges


class HttpProber:
    """One client session for all HTTP polls of a poller; close() at the end."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, force_close=True)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def probe(self, ip: str, params: Mapping[str, str], timeout: float) -> Measurement:
        """Request url (default http://<ip>/) with method GET or HEAD; values status_code, latency_ms, bytes.

        ok when the status is in expect_status (default 200-399), else fail with the status in values.
        """
        url = params.get("url", "").strip() or f"http://{_host(ip)}/"
        if not url.startswith(("http://", "https://")):
            raise BadParam(f"param url: http:// or https://, got {url!r}")
        method = params.get("method", "GET").strip().upper() or "GET"
        if method not in METHODS:
            raise BadParam(f"param method: one of {METHODS}, got {method!r}")
        expected = parse_statuses(params.get("expect_status", "").strip() or "200-399")
        verify = bool_param(params, "verify_tls", True)
        started = time.perf_counter()
        try:
            async with self._client().request(
                method,
                url,
                allow_redirects=False,
                ssl=verify,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                body = await response.content.read(MAX_BODY_BYTES)
                elapsed = ms_since(started, time.perf_counter())
                status = response.status
                texts = {"reason": response.reason or ""}
                if "Location" in response.headers:
                    texts["location"] = response.headers["Location"]
        except TimeoutError:
            return fail(f"no complete answer from {url} within {timeout:g}s")
        except aiohttp.ClientConnectorCertificateError as exc:
            return fail(f"{url}: certificate not trusted: {exc.certificate_error}")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return fail(f"{url}: {exc or type(exc).__name__}")
        values = {"status_code": float(status), "latency_ms": elapsed, "bytes": float(len(body))}
        if not any(low <= status <= high for low, high in expected):
            wanted = ",".join(f"{a}-{b}" if a != b else str(a) for a, b in expected)
            return fail(f"status {status} not in {wanted}", values, texts)
        return ok(values, texts)


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip
