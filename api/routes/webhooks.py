"""Monitoring systems deliver alerts here; the URL's key names (and authenticates) the source."""

import asyncio

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from incidents.alerts import Delivery, SignatureError, jiankongbao_reply
from incidents.alerts.ingest import SOURCE_ATTEMPTS, StaleSource, receiver_for
from incidents.alerts.models import SourceKind
from incidents.errors import Invalid

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

# Bodies up to this size are parsed on the event loop (a single alert parses in tens of
# microseconds, less than the hop to a thread); a larger one would hold every request up.
PARSE_ON_LOOP_BYTES = 16 * 1024


# Two routes rather than one with methods=["GET", "POST"], which gives both operations one
# operationId and so an invalid OpenAPI document. GET is 监控宝's callback by query string.
@router.post("/{kind}/{source_key}", status_code=200)
@router.get("/{kind}/{source_key}", status_code=200)
async def deliver(kind: SourceKind, source_key: str, request: Request) -> Response:
    """Stores every alert of the delivery, then answers 2xx; a repeated delivery changes nothing."""
    state = request.app.state
    wait = state.webhook_limiter.allow(source_key)
    if wait is not None:
        state.telemetry.deliveries.labels(kind, "rate_limited").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many deliveries from this source; retry later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    delivery = Delivery(
        method=request.method,
        content_type=request.headers.get("content-type", ""),
        body=await request.body(),
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        secret=None,
    )
    try:
        counts = await _store(request, kind, source_key, delivery)
    except SignatureError as exc:
        state.telemetry.deliveries.labels(kind, "unauthenticated").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from exc
    except Invalid:
        state.telemetry.deliveries.labels(kind, "invalid").inc()
        raise
    if counts is None:
        state.telemetry.deliveries.labels(kind, "unknown_source").inc()
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="unknown or disabled webhook source")
    state.telemetry.count_ingest(kind, counts)
    if kind == SourceKind.jiankongbao:
        return PlainTextResponse(jiankongbao_reply(f"ok: {counts['received']} stored"))
    return JSONResponse(counts)


async def _store(
    request: Request, kind: str, key: str, delivery: Delivery
) -> dict[str, int] | None:
    """The delivery's counts once its group commit is done; None for an unknown source.

    Only a source missing from the cache and a large body cost a thread; the write itself is
    the engine's writer's, awaited here without holding a thread.
    """
    state = request.app.state
    receiver = receiver_for(state.engine)
    attempts_left = SOURCE_ATTEMPTS
    while True:
        source = receiver.sources.cached(kind, key) or await run_in_threadpool(
            receiver.sources.load, kind, key
        )
        if source is None:
            return None
        arguments = (source, kind, delivery, state.settings, state.grading_policy)
        if len(delivery.body) <= PARSE_ON_LOOP_BYTES:
            stored = receiver.submit(*arguments)
        else:
            stored = await run_in_threadpool(receiver.submit, *arguments)
        try:
            return (await asyncio.wrap_future(stored)).counts()
        except StaleSource:
            receiver.sources.forget(kind, key)
            attempts_left -= 1
            if not attempts_left:
                raise
