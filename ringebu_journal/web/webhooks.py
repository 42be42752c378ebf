"""``GET``/``POST /webhooks/meta`` on Starlette: the HTTP side of ``ringebu_journal.webhooks``.

The route does nothing of its own: it reads the raw body (at most ``MAX_BODY_BYTES`` + 1 bytes,
so a larger one is refused without being read whole), hands method, query, headers and body to
:func:`ringebu_journal.webhooks.receive` in a worker thread (it uses the database) and returns
what that says. The web application includes :func:`routes`; the route must be left out of
sign-in and CSRF checks — Meta signs each delivery instead (``X-Hub-Signature-256``).
"""

from __future__ import annotations

from typing import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..app import App
from ..webhooks import MAX_BODY_BYTES, PATH, receive


def routes(app: App | Callable[[], App]) -> list[Route]:
    """The webhook route, on ``app`` (or on the App a callable returns for each request)."""
    get_app: Callable[[], App] = app if not isinstance(app, App) else (lambda: app)

    async def meta_webhook(request: Request) -> Response:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                break
        body = b"".join(chunks)
        status, content_type, out = await run_in_threadpool(
            receive, get_app(), request.method, request.query_params, request.headers.items(), body)
        return Response(out, status_code=status, media_type=content_type,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    return [Route(PATH, meta_webhook, methods=["GET", "POST"])]


def application(app: App | Callable[[], App]) -> Starlette:
    """A Starlette application with the webhook route alone (for a separate listener, and tests)."""
    return Starlette(routes=routes(app))


__all__ = ["routes", "application"]
