from __future__ import annotations

from django.conf import settings
from django.db import models


class PushSubscription(models.Model):
    """One phone's push channel (a browser's Web Push subscription) for a patrol user in
    one municipality. The endpoint belongs to the browser on that phone, so it is held by
    one user at a time: whoever subscribed last on the device."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000)
    # The browser's P-256 public key and authentication secret (RFC 8291), base64url.
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "tenant"], name="unique_push_endpoint_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.tenant} – {self.user_agent[:40]}"
