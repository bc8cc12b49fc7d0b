"""Embedders: the Rust hashing embedder, and OpenAIEmbedder against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from ferromem import BackendUnavailableError, InvalidArgumentError
from ferromem.embedders import HashingEmbedder, OpenAIEmbedder, embed_checked


def test_hashing_embedder_is_deterministic_normalised_and_semantic() -> None:
    e = HashingEmbedder(256)
    texts = ["I prefer PostgreSQL for databases", "which database? postgresql", "hiking trails", ""]
    a = e(texts)
    assert a.dtype == np.float32 and a.shape == (4, 256)
    assert np.array_equal(a, HashingEmbedder(256)(texts))
    assert np.allclose(np.linalg.norm(a[:3], axis=1), 1.0, atol=1e-5)
    assert not a[3].any()
    assert a[0] @ a[1] > a[0] @ a[2] + 0.2
    with pytest.raises(InvalidArgumentError, match="dim"):
        HashingEmbedder(0)
    with pytest.raises(TypeError, match="texts"):
        e("not a list")  # type: ignore[arg-type]


def test_embed_checked_refuses_wrong_shapes_and_values() -> None:
    def wrong_rows(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts) + 1, 4), dtype=np.float32)

    def nan(texts: list[str]) -> np.ndarray:
        return np.full((len(texts), 4), np.nan, dtype=np.float32)

    with pytest.raises(InvalidArgumentError, match="wrong_rows returned shape"):
        embed_checked(wrong_rows, ["a"], 4)
    with pytest.raises(InvalidArgumentError, match="expected"):
        embed_checked(lambda t: np.ones((len(t), 3)), ["a"], 4)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        embed_checked(nan, ["a"], 4)
    with pytest.raises(InvalidArgumentError, match="float array"):
        embed_checked(lambda t: ["x"] * len(t), ["a"], None)
    out = embed_checked(lambda t: [[1, 2]] * len(t), ["a", "b"], None)
    assert out.dtype == np.float32 and out.shape == (2, 2)


class _Server:
    """A tiny OpenAI-compatible /v1/embeddings server on 127.0.0.1, run in a thread."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next = 0  # answer this many requests with HTTP 503 first
        self.status: int | None = None  # answer every request with this status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if server.fail_next:
                    server.fail_next -= 1
                    self._send(503, {"error": "busy"})
                elif server.status is not None:
                    self._send(server.status, {"error": {"message": "bad model"}})
                elif self.path != "/v1/embeddings":
                    self._send(404, {"error": "no such path"})
                else:
                    data = [
                        {"index": i, "embedding": [float(len(t)), float(i), 1.0]}
                        for i, t in enumerate(body["input"])
                    ]
                    self._send(200, {"object": "list", "data": data[::-1]})

            def _send(self, code: int, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def test_openai_embedder_batches_orders_and_authenticates(server: _Server) -> None:
    e = OpenAIEmbedder("test-model", api_key="sk-test", base_url=server.url, batch_size=2)
    out = e(["a", "bb", "ccc", "dddd", "eeeee"])
    assert out.dtype == np.float32 and out.shape == (5, 3)
    assert out[:, 0].tolist() == [1, 2, 3, 4, 5], "rows follow the input order"
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]
    assert all(r["model"] == "test-model" for r in server.requests)
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    assert e.dimension == 3


def test_openai_embedder_retries_then_succeeds_or_gives_up(server: _Server) -> None:
    e = OpenAIEmbedder("m", api_key="", base_url=server.url, max_retries=2, backoff=0.01)
    server.fail_next = 2
    assert e(["hello"]).shape == (1, 3)
    assert len(server.requests) == 3
    assert "Authorization" not in server.headers[0]
    server.fail_next = 5
    with pytest.raises(BackendUnavailableError, match="3 attempts"):
        e(["hello"])


def test_openai_embedder_client_errors_and_dead_servers(server: _Server) -> None:
    server.status = 400
    e = OpenAIEmbedder("m", base_url=server.url, max_retries=3, backoff=0.01)
    with pytest.raises(InvalidArgumentError, match=r"HTTP 400.*bad model"):
        e(["x"])
    assert len(server.requests) == 1, "a 4xx answer is not retried"
    url = server.url
    server.close()
    dead = OpenAIEmbedder("m", base_url=url, max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(BackendUnavailableError):
        dead(["x"])
    server.httpd = ThreadingHTTPServer(("127.0.0.1", 0), server.httpd.RequestHandlerClass)
    server.thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    server.thread.start()
    with pytest.raises(InvalidArgumentError, match="base_url"):
        OpenAIEmbedder("m", base_url="ftp://x")
