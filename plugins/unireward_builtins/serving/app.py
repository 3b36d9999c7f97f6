"""The FastAPI application of ``unireward serve`` (built by :func:`create_app`; fastapi is imported there).

Endpoints (schema: :mod:`.schema`, published at ``/openapi.json`` and ``/docs``):

- ``GET /health``: request, model-call and item counts.
- ``GET /v1/info``: the head, backend checkpoint, task and limits.
- ``POST /v1/judge``: items judged pairwise or pointwise, one result per item.
- ``POST /v1/group_rewards``: groups of candidates for one prompt each → win-rate rewards (GRPO).

Two guards wrap every request, in front of FastAPI (:class:`Guard`): the bearer token, when one is set,
is checked before anything else (401; no endpoint is exempt, /health and /openapi.json included), then the
body is read at most ``max_body`` bytes into memory (a declared Content-Length over it is refused before
reading, an undeclared stream as soon as it passes it: 413).
"""

# no `from __future__ import annotations`: FastAPI reads the endpoints' annotations as classes

import asyncio
import hmac
import json
from typing import Any

from unireward_sdk.errors import UniRewardError, require

from .service import RequestError, RewardService


def _error(status: int, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"message": message}}, ensure_ascii=False).encode()


class Guard:
    """ASGI middleware: the bearer token, then the body size (see the module docstring)."""

    def __init__(self, app: Any, *, token: str | None, max_body: int):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.expected is not None and not hmac.compare_digest(headers.get(b"authorization", b""), self.expected):
            return await self._refuse(send, *_error(401, str(RequestError(
                401, "a bearer token is required", fix="Send 'Authorization: Bearer <token>'"))),
                extra=[(b"www-authenticate", b"Bearer")])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return await self._too_large(send, f"the body has {int(declared)} bytes")
        body, more = [], True
        size = 0
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # a body without a Content-Length: stop reading once it is too large
                return await self._too_large(send, f"the body passed {self.max_body} bytes")
            body.append(chunk)
            more = message.get("more_body", False)
        whole = b"".join(body)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send, what: str):
        return await self._refuse(send, *_error(413, str(RequestError(
            413, f"{what}; this server takes {self.max_body}",
            fix="Send fewer items per request, or paths under the media root instead of inline media"))))

    @staticmethod
    async def _refuse(send, status: int, body: bytes, extra: list | None = None):
        # the connection is closed after a refusal: an unread body must not be parsed as the next request
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(service: RewardService, *, token: str | None = None) -> Any:
    """The ASGI application serving ``service``: FastAPI routes inside :class:`Guard`."""
    fastapi = require("fastapi", extra="serve", purpose="unireward serve")
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from . import schema

    app = fastapi.FastAPI(
        title="unireward serve", version="1",
        description="UniReward reward heads over HTTP: judge items pairwise or pointwise, and win-rate group "
                    "rewards for GRPO. Refusals answer {\"error\": {\"message\": ...}}.")
    refusals = {status: {"model": schema.ErrorResponse} for status in (400, 401, 403, 413)}

    @app.exception_handler(RequestError)
    async def _refused(_request, exc: RequestError):
        return JSONResponse({"error": {"message": str(exc)}}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _malformed(_request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": {"message": str(RequestError(
            400, f"malformed request: {problems}", fix="See the schema at /openapi.json"))}}, status_code=400)

    @app.exception_handler(UniRewardError)
    async def _sdk_error(_request, exc: UniRewardError):  # e.g. the head refusing the items (a wrong modality)
        return JSONResponse({"error": {"message": str(exc)}}, status_code=400)

    @app.exception_handler(TimeoutError)
    async def _late(_request, _exc):
        return JSONResponse({"error": {"message": str(RequestError(
            504, f"the head did not answer within {service.timeout} s", fix="Send fewer items per request"))}},
            status_code=504)

    @app.exception_handler(Exception)
    async def _crashed(_request, exc: Exception):  # one failing request never stops the server
        return JSONResponse({"error": {"message": f"{type(exc).__name__}: {exc}"}}, status_code=500)

    @app.get("/health", response_model=schema.Health, responses=refusals)
    async def health():
        return service.health()

    @app.get("/v1/info", response_model=schema.Info, responses=refusals)
    async def info():
        return dict(service.info(), auth=token is not None)

    async def judged(mode: str, items: list) -> list:
        # waiting for the batch holds no thread: any number of requests can wait for one head call
        return await asyncio.wait_for(asyncio.wrap_future(service.submit(mode, items)), service.timeout)

    @app.post("/v1/judge", response_model=schema.JudgeResponse, responses=refusals)
    async def judge(request: schema.JudgeRequest):
        with service.request_folder() as folder:
            # reading paths and writing inline files blocks: in a worker thread, so the loop keeps accepting
            items = await run_in_threadpool(service.read_judge, request, folder)
            results = await judged(request.mode, items)
        return JSONResponse(service.judge_answer(results))

    @app.post("/v1/group_rewards", response_model=schema.GroupRewardsResponse, responses=refusals)
    async def group_rewards(request: schema.GroupRewardsRequest):
        with service.request_folder() as folder:
            groups = await run_in_threadpool(service.read_groups, request, folder)
            verdicts = await judged("pairwise", [item for _, _, items in groups for item in items])
        return JSONResponse(service.group_answer(groups, verdicts, use_probabilities=request.use_probabilities))

    return Guard(app, token=token, max_body=service.max_body)
