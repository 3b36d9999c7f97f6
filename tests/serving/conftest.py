"""Real HTTP servers on 127.0.0.1 for the ``openai`` backend's tests.

- :class:`JudgeServer`: an OpenAI-compatible chat-completions server that runs a tiny judge in-process
  through the ``transformers`` backend (greedy generation; ``logprobs`` / ``top_logprobs`` with the
  assistant message continued in place, as vLLM documents ``continue_final_message``). With
  ``logprobs=False`` it refuses those fields with HTTP 422, as ``transformers serve`` does.
- :class:`FaultServer`: answers from a script (drop the connection, 429, 500, malformed JSON, stall,
  content filter, ok) and counts the requests it got.

The judging fixtures (registry, the trained tiny judge, the colour items) are those of tests/judging.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("judging_fixtures",
                                               Path(__file__).parents[1] / "judging" / "conftest.py")
_judging = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_judging)
registry = _judging.registry
template_texts = _judging.template_texts
colour_images = _judging.colour_images
colour_items = _judging.colour_items
trained_qwen2_vl = _judging.trained_qwen2_vl
mp4_videos = _judging.mp4_videos

_VLLM_FIELDS = ("continue_final_message", "add_generation_prompt", "logprobs", "top_logprobs")


class _Server:
    """A ThreadingHTTPServer on a loopback port (a free one by default), served from a daemon thread."""

    def __init__(self, handler_class, port: int = 0):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler_class)  # reuses the address: restartable
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()  # open ones, cut by close() as a dying server's are
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        """Stop as a server that goes away does: no more listening, and kept-alive connections cut (a client's
        pooled connection would otherwise still be answered by this process)."""
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.owner.lock:
            self.server.owner.connections.add(self.connection)

    def finish(self):
        with self.server.owner.lock:
            self.server.owner.connections.discard(self.connection)
        super().finish()

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, payload, headers: dict | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        owner = self.server.owner
        with owner.lock:
            owner.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        return body


def _image(url: str):
    from PIL import Image

    head, data = url.split(",", 1)
    assert head == "data:image/png;base64", head
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def _video(url: str) -> list:
    import av

    head, data = url.split(",", 1)
    assert head == "data:video/mp4;base64", head
    with av.open(io.BytesIO(base64.b64decode(data))) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def _completion(content: str | None = None, logprobs=None, finish_reason: str = "stop") -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "cmpl-test", "object": "chat.completion", "choices": [choice]}


class JudgeServer(_Server):
    """Chat completions answered by a transformers backend (see the module docstring)."""

    def __init__(self, backend, *, logprobs: bool = True, api_key: str | None = None, port: int = 0,
                 unanswered: str | None = None, goes_down: bool = True):
        self.backend = backend
        self.logprobs = logprobs
        self.api_key = api_key
        # a request whose messages hold ``unanswered`` gets its connection dropped, no answer; with
        # ``goes_down`` the server then goes away (as a crashed server does)
        self.unanswered = unanswered
        self.goes_down = goes_down
        self.model_lock = threading.Lock()  # one forward at a time, as a single-model server does
        super().__init__(_JudgeHandler, port)

    def request_of(self, body: dict):
        from unireward_sdk.interfaces import JudgeRequest

        messages = body["messages"]
        parts = []
        for part in messages[0]["content"]:
            if part["type"] == "text":
                parts.append(("text", part["text"]))
            elif part["type"] == "video_url":  # a video part, as vLLM takes it: every frame of the clip
                parts.append(("video", _video(part["video_url"]["url"])))
            else:
                parts.append(("image", _image(part["image_url"]["url"])))
        return JudgeRequest(parts, max_new_tokens=int(body.get("max_tokens", 16)))

    def answer(self, body: dict) -> dict:
        request = self.request_of(body)
        if not body.get("logprobs"):
            with self.model_lock:
                return _completion(self.backend.generate([request])[0])
        import torch

        messages = body["messages"]
        said = messages[-1]["content"] if messages[-1]["role"] == "assistant" else ""
        backend = self.backend
        with self.model_lock:
            batch = backend.encode([request], [said], [backend.prompt_text(request)])
            with torch.inference_mode():
                logits = backend.model(**batch, logits_to_keep=1, use_cache=False).logits
            logprobs = torch.log_softmax(logits[0, -1].float(), dim=-1)
            values, ids = logprobs.topk(int(body.get("top_logprobs", 1)))
        top = [{"token": backend.tokenizer.decode([int(i)]), "logprob": float(v)} for v, i in zip(values, ids)]
        return _completion(top[0]["token"], logprobs={"content": [dict(top[0], top_logprobs=top)]},
                           finish_reason="length")


class _JudgeHandler(_Handler):
    def do_GET(self):
        owner = self.server.owner
        self._send(200, {"object": "list", "data": [{"id": owner.backend.checkpoint, "object": "model"}]})

    def do_POST(self):
        owner = self.server.owner
        body = self._body()
        if owner.unanswered and owner.unanswered in json.dumps(body["messages"]):
            self.close_connection = True
            if owner.goes_down:  # from another thread: close() waits for the serving loop and cuts this one
                threading.Thread(target=owner.close, daemon=True).start()
            return
        if owner.api_key and self.headers.get("Authorization") != f"Bearer {owner.api_key}":
            return self._send(401, {"error": {"message": "invalid API key"}})
        refused = [f for f in _VLLM_FIELDS if f in body]
        if refused and not owner.logprobs:
            return self._send(422, {"detail": f"Unexpected fields in the request: {refused}"})
        self._send(200, owner.answer(body))


class FaultServer(_Server):
    """Answers POSTs from ``script`` (one action per request; the last repeats): ``drop``, ``429``, ``500``,
    ``500 then close`` (the connection closed half a second after the answer, unannounced, as uvicorn does
    after an unhandled exception), ``malformed``, ``stall``, ``filter``, ``ok`` (the completion ``content``), and ``"<status> retry-after=<value>"``
    (that status with a ``Retry-After`` header)."""

    def __init__(self, script, *, content: str = "Image 1 is better.", stall: float = 1.0):
        self.script = list(script)
        self.content = content
        self.stall = stall
        super().__init__(_FaultHandler)

    def next_action(self) -> str:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class _FaultHandler(_Handler):
    def do_POST(self):
        owner = self.server.owner
        self._body()
        action = owner.next_action()
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(2)  # no status line: the client sees the connection die
            return
        if action == "stall":
            time.sleep(owner.stall)
            return self._send(200, _completion(owner.content))
        if action == "500 then close":  # as uvicorn after an unhandled exception: the answer, then a late close
            self._send(500, {"error": {"message": "server says 500"}})
            time.sleep(0.5)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if action in ("429", "500"):
            return self._send(int(action), {"error": {"message": f"server says {action}"}})
        if " retry-after=" in action:  # "429 retry-after=<seconds or HTTP date>", "503 retry-after=..."
            status, value = action.split(" retry-after=", 1)
            return self._send(int(status), {"error": {"message": f"server says {status}"}},
                              headers={"Retry-After": value})
        if action == "malformed":
            return self._send(200, b"{not json")
        if action == "filter":
            return self._send(200, _completion(None, finish_reason="content_filter"))
        self._send(200, _completion(owner.content))


@pytest.fixture(scope="session")
def served_backend(trained_qwen2_vl):
    """The trained tiny judge, loaded once, in-process (what the servers run and what results are compared to)."""
    from unireward_builtins.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(trained_qwen2_vl), device="cpu")


@pytest.fixture(scope="session")
def judge_server(served_backend):
    server = JudgeServer(served_backend)
    yield server
    server.close()


@pytest.fixture
def fault_server():
    servers = []

    def start(script, **kwargs) -> FaultServer:
        servers.append(FaultServer(script, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def start_judge_server(served_backend):
    """Starts a :class:`JudgeServer` with the given settings (closed after the test)."""
    servers = []

    def start(**kwargs) -> JudgeServer:
        servers.append(JudgeServer(served_backend, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# --- `unireward serve` on a free loopback port (uvicorn in a thread), with the trained tiny judge -------------

SERVE_PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
SERVE_POINTWISE = "image_generation.pointwise_score.qwen_v1"


def serve_args(**overrides):
    """`unireward serve`'s parsed flags: the tiny judge's templates, a free port, and ``overrides``."""
    from unireward_builtins.serving.command import configure

    parser = argparse.ArgumentParser()
    configure(parser)
    argv = ["--task", "image_generation", "--port", "0", "--template", SERVE_PAIRWISE,
            "--pointwise-template", SERVE_POINTWISE]
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return parser.parse_args(argv)


@pytest.fixture
def media_root(tmp_path, colour_images):
    root = tmp_path / "media"
    root.mkdir()
    for colour, path in colour_images.items():
        shutil.copy(path, root / f"{colour}.png")
    return root


@pytest.fixture
def start_server(registry, trained_qwen2_vl):
    from unireward_builtins.serving.command import build_server

    servers = []

    def start(**overrides):
        servers.append(build_server(serve_args(model=str(trained_qwen2_vl), **overrides), registry).start())
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# --- a real `transformers serve` -------------------------------------------------------------------

_TRANSFORMERS_CLI = ("import sys; from transformers.cli.transformers import main; "
                     "sys.argv[0] = 'transformers'; sys.exit(main())")
_SERVE_START_LIMIT_S = 180  # loading the tiny judge takes seconds; a busy 2-core machine may take longer


class TransformersServe:
    """``transformers serve <folder>`` in a subprocess on a free loopback port: CPU, offline, pinned to the
    folder (requests name the folder as their model)."""

    def __init__(self, model_dir: Path, log_path: Path):
        self.model = str(model_dir)
        with socket.socket() as probe:  # a free port; the server binds it a moment later
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _TRANSFORMERS_CLI, "serve", self.model, "--device", "cpu",
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_healthy()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _SERVE_START_LIMIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.25)
        self.close()
        raise RuntimeError(f"transformers serve did not become healthy; its log:\n{self.log_path.read_text()[-3000:]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _serving_stack_missing() -> str | None:
    try:
        from transformers.utils.import_utils import is_serve_available
    except ImportError as exc:
        return f"transformers has no serving module ({exc})"
    if not is_serve_available():
        return "the transformers serving extra (fastapi, uvicorn, openai) is not installed"
    return None


@pytest.fixture(scope="session")
def transformers_serve(trained_qwen2_vl, tmp_path_factory):
    """A real ``transformers serve`` running the trained tiny judge (skipped when its stack is missing)."""
    missing = _serving_stack_missing()
    if missing:
        pytest.skip(f"`transformers serve` cannot run here: {missing}")
    server = TransformersServe(Path(trained_qwen2_vl), tmp_path_factory.mktemp("transformers_serve") / "serve.log")
    yield server
    server.close()
