"""Stabilog's HTTP API, web pages and CLI: thin layers over the domain in `incidents`."""
