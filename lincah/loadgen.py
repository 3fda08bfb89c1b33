"""A small HTTP/1.1 load generator for ``lincah bench api``: ``connections`` keep-alive
connections, each sending one GET after another for ``seconds``. Plain asyncio streams
with a fixed request and a minimal response parser, because an HTTP client library
spends more CPU per request than the server under test on this machine, which would cap
both endpoints at the generator's speed and flatter every ratio."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lincah.bench_stack import Latencies


@dataclass
class Load:
    path: str
    requests: int = 0
    seconds: float = 0.0
    latencies: Latencies = field(default_factory=Latencies)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code. Expects Content-Length (uvicorn sends it for
    FastAPI's JSON answers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
            break
    if length:
        await reader.readexactly(length)
    return status


async def load(
    base_url: str,
    path: str,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Load:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    result = Load(path)
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                result.latencies.values.append(time.perf_counter() - start)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    return result
