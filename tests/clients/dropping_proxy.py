"""A TCP proxy on loopback that drops its first connection, for resume tests: either after a
number of bytes from the server, or when the test calls `cut()` (for example from a client
callback, so the cut falls after a chunk the client has certainly stored)."""

from __future__ import annotations

import asyncio
import threading


class DroppingProxy:
    def __init__(self, target_port: int, cut_after: int | None = None):
        self.target_port = target_port
        self.cut_after = cut_after  # server -> client bytes after which the first connection is cut
        self.connections = 0
        self.cuts = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server = None
        self._first: list = []  # transports of the first connection
        self.port = 0

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        async def close():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Drop the first connection now (thread-safe; only the first call acts)."""
        if self.cuts == 0:
            self.cuts = 1
            self.loop.call_soon_threadsafe(lambda: [t.abort() for t in self._first])

    async def _handle(self, client_reader, client_writer) -> None:
        index = self.connections
        self.connections += 1
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        if index == 0:
            self._first = [client_writer.transport, server_writer.transport]
        limit = self.cut_after if index == 0 else None

        async def pipe(reader, writer, limit):
            sent = 0
            try:
                while data := await reader.read(65536):
                    if limit is not None and sent + len(data) >= limit:
                        writer.write(data[:limit - sent])
                        self.cut()
                        return
                    writer.write(data)
                    await writer.drain()
                    sent += len(data)
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer, None), pipe(server_reader, client_writer, limit))
