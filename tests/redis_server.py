"""Real Redis servers for the tests, started on free loopback ports on first use: one plain
server, and one Redis Cluster of three masters with a replica each.

`make test` installs redis-server; without it, the Redis tests fail with a message saying so.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ports(n: int) -> list[int]:
    """``n`` ports whose cluster-bus twins (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        port = random.randrange(20000, 40000)
        if port not in ports and _port_is_free(port) and _port_is_free(port + 10000):
            ports.append(port)
    return ports


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make test`, which installs it")
    return path


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start on port {port}")


class RedisServer:
    """One redis-server process with its own directory; `stop`/`pause`/`resume` for fault tests.

    ``password`` makes it require one (``requirepass``); ``port`` reuses a port (a restart)."""

    def __init__(
        self,
        *,
        persistent: bool = False,
        password: str | None = None,
        port: int | None = None,
        directory: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port() if port is None else port
        self.dir = tempfile.mkdtemp(prefix="ferromem-redis-") if directory is None else directory
        self.persistent = persistent
        self.password = password
        args = [
            _binary("redis-server"),
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
            "--appendfsync",
            "always",
            *extra,
        ]
        if password is not None:
            args += ["--requirepass", password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_listening(self.port, self.proc)
        except RuntimeError:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)  # stops answering, keeps its data

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the server dies at once (its directory stays, for a restart)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> RedisServer:
        """A new server on the same port and directory (with AOF, it reloads the data)."""
        self.kill()
        return RedisServer(
            persistent=self.persistent, password=self.password, port=self.port, directory=self.dir
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisClusterServers:
    """A Redis Cluster on loopback: ``masters`` masters with ``replicas`` replicas each (made
    with ``redis-cli --cluster create``), a short node timeout so that a failover takes about
    two seconds."""

    def __init__(self, *, masters: int = 3, replicas: int = 1) -> None:
        self.dir = tempfile.mkdtemp(prefix="ferromem-cluster-")
        self.ports = _cluster_ports(masters * (1 + replicas))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        try:
            for port in self.ports:
                node_dir = os.path.join(self.dir, str(port))
                os.mkdir(node_dir)
                self.procs[port] = subprocess.Popen(
                    [
                        _binary("redis-server"),
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        node_dir,
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        # A replica takes over however long it was cut off from its master.
                        "--cluster-replica-validity-factor",
                        "0",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            for port, proc in self.procs.items():
                _wait_listening(port, proc)
            subprocess.run(
                [
                    _binary("redis-cli"),
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in self.ports),
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    @property
    def nodes(self) -> list[str]:
        """``host:port`` of every node."""
        return [f"127.0.0.1:{p}" for p in self.ports]

    def _cli(self, port: int, *args: str) -> str:
        out = subprocess.run(
            [_binary("redis-cli"), "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def masters(self) -> list[int]:
        """Ports of the live masters (as the live nodes see them)."""
        live = [p for p, proc in self.procs.items() if proc.poll() is None]
        lines = self._cli(live[0], "cluster", "nodes").splitlines()
        out = []
        for line in lines:
            fields = line.split()
            if len(fields) > 2 and "master" in fields[2] and "fail" not in fields[2]:
                out.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
        return sorted(out)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Waits until every live node reports the cluster ``ok`` with every slot served, and
        every live replica is in sync with its master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [p for p, proc in self.procs.items() if proc.poll() is None]
            infos = [self._cli(p, "cluster", "info") for p in live]
            roles = [self._cli(p, "info", "replication") for p in live]
            if all(
                "cluster_state:ok" in i and "cluster_slots_ok:16384" in i for i in infos
            ) and all("role:master" in r or "master_link_status:up" in r for r in roles):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not become healthy")

    def kill(self, port: int) -> None:
        """SIGKILLs one node."""
        proc = self.procs[port]
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: RedisServer | None = None
_cluster: RedisClusterServers | None = None


def shared_redis_url() -> str:
    """The URL of the test session's shared server (started on first call)."""
    global _shared
    if _shared is None:
        _shared = RedisServer()
        atexit.register(_shared.stop)
    return _shared.url


def shared_cluster_nodes() -> list[str]:
    """The nodes of the test session's shared Redis Cluster (started on first call)."""
    global _cluster
    if _cluster is None:
        _cluster = RedisClusterServers()
        atexit.register(_cluster.stop)
    return _cluster.nodes
