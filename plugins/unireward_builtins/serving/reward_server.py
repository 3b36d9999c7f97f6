"""A reward head behind HTTP, for trainers in other processes (``unireward serve``): the application of
:mod:`.app` served by uvicorn.

The listening socket is bound when the server is built (so ``port=0`` picks a free port and ``url`` is
known at once, and a port in use fails there); ``serve_forever`` blocks, ``start`` serves from a thread.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from unireward_sdk.errors import ConfigError, require

from .app import create_app
from .service import RewardService


def _bind(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror})", who="unireward serve",
                          fix="Pick another --port (0: any free one), or stop what holds it") from exc
    sock.listen(2048)
    return sock


class RewardServer:
    """The HTTP server (see the module docstring)."""

    def __init__(self, head: Any, *, task: str, host: str = "127.0.0.1", port: int = 8080,
                 media_root: str | Path | None = None, token: str | None = None, batch_window: float = 0.01,
                 max_batch: int = 64, max_body: int = 32 * 2**20, timeout: float = 600.0, media: Any = None):
        uvicorn = require("uvicorn", extra="serve", purpose="unireward serve")
        self.service = RewardService(head, task=task, media_root=media_root, batch_window=batch_window,
                                     max_batch=max_batch, max_body=max_body, timeout=timeout, media=media)
        self.app = create_app(self.service, token=token)
        self.socket = _bind(host, port)
        # requests are counted (/health), not logged line by line
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False,
                                                    lifespan="off", timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None

    @property
    def stats(self):
        return self.service.stats

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 30.0) -> RewardServer:
        """Serves from a daemon thread; returns once the server accepts requests."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="unireward-serve")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"unireward serve did not start on {self.url}", who="unireward serve",
                                  fix="See the server's log above")
            time.sleep(0.01)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()
        self.service.close()
