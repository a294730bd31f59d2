"""The control plane's Prometheus endpoint, for the service's monitoring only."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitoring.metrics import ControlPlaneCollector
from nattillsyn.metrics_http import bearer_token_matches

REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(ControlPlaneCollector())


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """404 unless the monitoring token is configured and given: the figures tell an
    outsider how busy a municipality's night is."""
    if not bearer_token_matches(request.headers.get("Authorization", ""), settings.METRICS_TOKEN):
        raise Http404
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
