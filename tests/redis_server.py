"""A real redis-server for the tests, started on a free loopback port on first use.

`make test` installs redis-server; without it, the Redis tests fail with a message saying so.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process with its own directory; `stop`/`pause`/`resume` for fault tests."""

    def __init__(self, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="ferromem-redis-")
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            self.dir,
            "--save",
            "",
            "--appendonly",
            "yes" if persistent else "no",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def pause(self) -> None:
        self.proc.send_signal(19)  # SIGSTOP: the server stops answering, keeps its data

    def resume(self) -> None:
        self.proc.send_signal(18)  # SIGCONT

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: RedisServer | None = None


def shared_redis_url() -> str:
    """The URL of the test session's shared server (started on first call)."""
    global _shared
    if _shared is None:
        _shared = RedisServer()
        atexit.register(_shared.stop)
    return _shared.url
