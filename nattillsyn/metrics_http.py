"""A Prometheus endpoint for a process that is not the web server (the worker), behind a
bearer token like the web's /metrics. No Django: the gateway could use it too."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app


def bearer_token_matches(header: str, token: str) -> bool:
    """Constant-time; an empty configured token never matches."""
    given = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # a scrape every 15 s is not news
        pass


def serve_metrics(bind: str, token: str, registry: CollectorRegistry) -> WSGIServer:
    """Serve ``registry`` on ``host:port`` in a daemon thread; 404 without the token."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not bearer_token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        return metrics_app(environ, start_response)  # type: ignore[no-any-return]

    host, _, port = bind.rpartition(":")
    server = make_server(host or "127.0.0.1", int(port), app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
