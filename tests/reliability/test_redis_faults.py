"""Redis faults: the server killed and restarted (AOF with appendfsync always), and stalled with
``DEBUG SLEEP`` beyond the client's timeout, while a writer goes on. Every acknowledged write must
survive, none may be stored twice, and every failure must be a BackendUnavailableError."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter

import pytest

import ferromem
from ferromem import BackendUnavailableError, FerromemError

from ..redis_server import free_port
from .harness import row, scale


class DurableRedis:
    """A redis-server with an append-only file synced on every write, restartable in place."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="ferromem-aof-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--enable-debug-command", "local"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def server():
    s = DurableRedis()
    yield s
    s.stop()


def _writer(mem: ferromem.RedisMemory, stop: threading.Event, acked: list[str],
            failures: list[BaseException]) -> None:  # fmt: skip
    n = 0
    while not stop.is_set():
        n += 1
        try:
            acked.append(mem.add_message("user", f"durable turn {n}"))
        except BackendUnavailableError:
            time.sleep(0.02)
        except FerromemError as e:  # a typed error, but not the one a dead server should give
            failures.append(e)
            time.sleep(0.02)


def _check(mem: ferromem.RedisMemory, acked: list[str], scenario: str) -> None:
    tally = row(scenario)
    tally.tried += 1
    msgs = mem.get_messages()
    ids = [m.id for m in msgs]
    lost = set(acked) - set(ids)
    dup = [c for c, k in Counter(m.content for m in msgs).items() if k > 1]
    tally.lost += len(lost)
    tally.duplicated += len(dup)
    assert not lost and not dup, f"lost {sorted(lost)[:5]}, duplicated {dup[:5]}"
    tally.passed += 1


def test_server_killed_and_restarted(server: DurableRedis) -> None:
    mem = ferromem.RedisMemory(url=server.url, session_id="w", socket_timeout=1.0)
    for _ in range(scale(2, 10)):
        stop, acked, failures = threading.Event(), [], []
        t = threading.Thread(target=_writer, args=(mem, stop, acked, failures))
        t.start()
        time.sleep(0.3)
        server.kill()
        time.sleep(0.3)
        server.start()
        time.sleep(0.3)
        stop.set()
        t.join()
        assert not failures, failures[:3]
        assert acked, "nothing was written"
        _check(mem, acked, "redis: server killed and restarted (AOF always)")
        mem.clear_session("w")


def test_server_stalled_beyond_the_timeout(server: DurableRedis) -> None:
    mem = ferromem.RedisMemory(url=server.url, session_id="w", socket_timeout=0.5)
    admin = ferromem.RedisMemory(url=server.url, session_id="admin")
    for _ in range(scale(2, 10)):
        stop, acked, failures = threading.Event(), [], []
        t = threading.Thread(target=_writer, args=(mem, stop, acked, failures))
        t.start()
        time.sleep(0.2)
        import redis

        redis.Redis.from_url(server.url).execute_command("DEBUG", "SLEEP", "1.5")
        time.sleep(0.3)
        stop.set()
        t.join()
        assert not failures, failures[:3]
        _check(mem, acked, "redis: server stalled beyond the timeout (DEBUG SLEEP)")
        mem.clear_session("w")
    admin.close()
