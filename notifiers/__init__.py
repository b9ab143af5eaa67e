"""Outbound channels (chat robots, e-mail, webhooks) over one shared httpx client."""
