"""Service dependencies: a service starts only once the services it depends on are ready.

    python examples/service_dependencies.py --port 0

A "database" background service connects (simulated), then says ready; a "cache" warms itself
from the database, then says ready; the "api" listening service binds only after the cache is
ready, so its first request already sees warm data. Each line it receives is a key; it answers
with the cached value. The chain is db → cache → api; SIGTERM stops everything gracefully.
"""

from __future__ import annotations

import asyncio

from _embedded_origins import example_parser, run_service, start_server

from pingora_core.apps import ServerApp
from pingora_core.protocols.l4.stream import Stream
from pingora_core.server import ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    ReadyNotifier,
    Service,
    background_service,
)


class Database(BackgroundService):
    """Stands for a connection that takes a while to establish."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.rows: dict[str, str] = {}

    async def start(self, shutdown: ShutdownWatch) -> None:
        await shutdown.wait()

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        print("db: connecting", flush=True)
        await asyncio.sleep(self.delay)  # the connection handshake
        self.rows = {"pingora": "a proxy framework", "python": "a language"}
        print("db: ready", flush=True)
        ready.notify_ready()
        await self.start(shutdown)


class Cache(BackgroundService):
    """Warms itself from the database before saying ready."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.entries: dict[str, str] = {}

    async def start(self, shutdown: ShutdownWatch) -> None:
        await shutdown.wait()

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        print("cache: warming from db", flush=True)
        self.entries = dict(self.db.rows)  # the db is ready: its rows are there
        print(f"cache: ready ({len(self.entries)} entries)", flush=True)
        ready.notify_ready()
        await self.start(shutdown)


class LookupApp(ServerApp):
    """Answers each line (a key) with the cached value, or "miss"."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        line = b""
        while not line.endswith(b"\n"):
            chunk = await stream.read()
            if not chunk:
                return None
            line += chunk
        value = self.cache.entries.get(line.decode().strip(), "miss")
        stream.write(value.encode() + b"\n")
        await stream.drain()
        return None if shutdown.is_shutting_down else stream


def main() -> None:
    parser = example_parser("service_dependencies", 6143)
    parser.add_argument("--delay", type=float, default=0.3, help="simulated db connect time")
    args = parser.parse_args()

    server = start_server(args)
    db_service = background_service("db", Database(args.delay))
    cache_service = background_service("cache", Cache(db_service.task))
    db, cache = server.add_services([db_service, cache_service])
    cache.add_dependency(db)
    run_service(server, Service("api", LookupApp(cache_service.task)), args, depends_on=[cache])

if __name__ == "__main__":
    main()
