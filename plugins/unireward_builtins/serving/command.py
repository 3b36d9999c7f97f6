"""The ``unireward serve`` command: load a judge and a head, and serve them (see :mod:`.reward_server`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from unireward_sdk import CommandSpec, hookimpl
from unireward_sdk.errors import ConfigError

SUMMARY = "serve a reward head over HTTP (judge items pairwise or pointwise) for trainers in other processes"


def configure(p) -> None:
    p.add_argument("--task", required=True, help="the task every item is judged as (image_generation, ...)")
    p.add_argument("--model", help="judge checkpoint (or the served model's name with --backend openai)")
    p.add_argument("--backend", default="transformers", help="judge backend plugin (default: transformers)")
    p.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a backend option, repeatable (VALUE read as JSON when it parses)")
    p.add_argument("--head", default="generative", help="reward head (default: generative)")
    p.add_argument("--template", help="pairwise template id (default: the task's for the checkpoint's family)")
    p.add_argument("--pointwise-template", help="pointwise template id")
    p.add_argument("--batch-size", type=int, default=16, help="items per model call inside the head")
    p.add_argument("--frames", type=int, default=8, help="frames sampled evenly from each video (default 8)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--media-root", help="paths in requests are read only under this folder (default: no paths)")
    p.add_argument("--token-env", metavar="NAME",
                   help="environment variable holding the bearer token every request must carry")
    p.add_argument("--batch-window", type=float, default=0.01,
                   help="seconds to gather concurrent requests into one model call (default 0.01)")
    p.add_argument("--max-batch", type=int, default=64, help="most items per model call (default 64)")
    p.add_argument("--max-body", type=int, default=32 * 2**20, help="largest request body in bytes (default 32 MiB)")


def build_server(args, registry: Any = None):
    """The RewardServer the flags describe (loads the judge; does not start serving)."""
    from unireward_sdk.cli.score import backend_options
    from unireward_sdk.media import MediaCache, VideoSampling
    from unireward_sdk.registry import get_registry

    from .reward_server import RewardServer

    registry = registry or get_registry()
    registry.task(args.task)
    spec = registry.reward_head_spec(args.head)
    backend = None
    if spec.needs_backend:
        if not args.model:
            raise ConfigError(f"reward head '{args.head}' judges with a model, and no --model was given",
                              who="unireward serve", fix="Pass --model <checkpoint or served model name>")
        options = {"checkpoint": args.model, "batch_size": args.batch_size, **backend_options(args.backend_option)}
        # with the options, a served judge is asked what it can do: a head it cannot support is refused,
        # naming the server's reason, before anything loads or listens
        registry.check_head_backend(args.head, args.backend, options)
        backend = registry.backend(args.backend, **options)
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise ConfigError(f"environment variable {args.token_env} (--token-env) is not set",
                              who="unireward serve", fix=f"Export {args.token_env}=<token> first")
    media = MediaCache(registry=registry, video_policy=VideoSampling(frames=args.frames))
    head_options: dict[str, Any] = dict(backend=backend, task=args.task, registry=registry, media=media,
                                        batch_size=args.batch_size)
    if args.template:
        head_options["template"] = args.template
    if args.pointwise_template:
        head_options["pointwise_template"] = args.pointwise_template
    head = registry.reward_head(args.head, **head_options)
    return RewardServer(head, task=args.task, host=args.host, port=args.port, media_root=args.media_root,
                        token=token, batch_window=args.batch_window, max_batch=args.max_batch, max_body=args.max_body,
                        media=media)


def run(args) -> int:
    server = build_server(args)
    print(f"unireward serve: {server.url} (POST /v1/judge, POST /v1/group_rewards, GET /health, GET /v1/info; "
          "schema at /openapi.json)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


@hookimpl
def unireward_register_commands():
    yield CommandSpec(name="serve", summary=SUMMARY, configure=configure, factory=run,
                      description=SUMMARY + ". Requests within --batch-window share one model call; "
                      "see docs/serving.md.")
