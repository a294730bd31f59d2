from django.contrib import admin

from cameras.models import Gateway


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    """Which gateways exist and which site each serves (docs/OPERATIONS.md, "Scale")."""

    list_display = ["gateway_id", "site", "standby", "priority", "public_url", "internal_url", "last_seen_at"]
    list_filter = ["site", "standby"]
    readonly_fields = ["last_seen_at"]
