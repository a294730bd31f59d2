from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BatchState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Being produced")
    DONE = "done", _("Ready")
    FAILED = "failed", pgettext_lazy("letter batch", "Failed")


class LetterBatch(models.Model):
    """A month's letters "who looked at me" for every person of a municipality, in one
    PDF for printing and posting (each letter starts on a new sheet). The command
    ``produce_letters`` fills it and counts ``done`` as it goes; the page polls that."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month the letters tell about.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=BatchState.choices, default=BatchState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Relative to settings.LETTERS_DIR; the file holds personal data and is served only
    # through the download view (access checked, download audited).
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]
