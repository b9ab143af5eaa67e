"""Monitoring systems deliver alerts here; the URL's key names (and authenticates) the source."""

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from incidents.alerts import Delivery, SignatureError, jiankongbao_reply
from incidents.alerts.ingest import receive_delivery
from incidents.alerts.models import SourceKind

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.api_route("/{kind}/{source_key}", methods=["GET", "POST"], status_code=200)
async def deliver(kind: SourceKind, source_key: str, request: Request) -> Response:
    """Stores every alert of the delivery, then answers 2xx; a repeated delivery changes nothing."""
    delivery = Delivery(
        method=request.method,
        content_type=request.headers.get("content-type", ""),
        body=await request.body(),
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        secret=None,
    )
    state = request.app.state
    try:
        counts = await run_in_threadpool(
            receive_delivery,
            state.engine,
            kind=kind,
            key=source_key,
            delivery=delivery,
            settings=state.settings,
            policy=state.grading_policy,
        )
    except SignatureError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from exc
    if counts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="unknown or disabled webhook source")
    if kind == SourceKind.jiankongbao:
        return PlainTextResponse(jiankongbao_reply(f"ok: {counts['received']} stored"))
    return JSONResponse(counts)
