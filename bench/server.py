"""The server under benchmark: Stabilog's app plus a bare endpoint, served by uvicorn.

    .venv/bin/python bench/server.py PORT [WORKERS]

Both endpoints live in the same app, behind the same middleware (the access log included, as
`STABILOG_ACCESS_LOG` says) on the same event loop and workers, so the ratio of their
throughputs isolates what Stabilog's ingest costs over reading a body. Logging is set up as
`stabilog serve` sets it up; the scheduler is left to STABILOG_SCHEDULER (the bench turns it off).
"""

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.cli.serve import run_workers  # noqa: E402
from api.logs import configure_logging  # noqa: E402
from api.main import create_app  # noqa: E402
from incidents.settings import get_settings  # noqa: E402


def bench_app() -> FastAPI:
    """The app of one worker process."""
    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)

    @app.post("/bench/bare")
    async def bare(request: Request) -> dict[str, int]:
        """The baseline: read the body, answer a small JSON, store nothing."""
        body = await request.body()
        return {"received": len(body)}

    return app


if __name__ == "__main__":
    port = int(sys.argv[1])
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    config = uvicorn.Config(
        "bench.server:bench_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_config=None,  # configure_logging's handler, as `stabilog serve` runs
        access_log=False,  # the app's own access log (api/logs.py), not uvicorn's
    )
    if workers == 1:
        uvicorn.Server(config).run()
    else:
        run_workers(config)
