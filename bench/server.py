"""The server under benchmark: Stabilog's app plus a bare endpoint, in one uvicorn process.

Both endpoints run in the same process, on the same event loop and workers, so the ratio of
their throughputs isolates what Stabilog's ingest costs over reading a body.
"""

import sys

import uvicorn
from fastapi import Request

from api.main import create_app

app = create_app()


@app.post("/bench/bare")
async def bare(request: Request) -> dict[str, int]:
    """The baseline: read the body, answer a small JSON, store nothing."""
    body = await request.body()
    return {"received": len(body)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
