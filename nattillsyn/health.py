from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from checks.heartbeat import worker_is_silent


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """For an external monitor: 503 when the database or the worker is not there."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"database": "down", "worker": "unknown"}, status=503)
    silent = worker_is_silent()
    return JsonResponse({"database": "ok", "worker": "silent" if silent else "ok"}, status=503 if silent else 200)
