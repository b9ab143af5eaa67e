"""What the plain ASGI middlewares (the access log, /metrics) share."""

from typing import Any


class NotedSend:
    """A request's ASGI `send` that notes the status answered: 500 until a response starts,
    which is what the server answers when the app raised before starting one."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.status_code = 500

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status_code = message["status"]
        await self.send(message)
