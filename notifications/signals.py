"""Push on a new escalation, and again when it stays unacknowledged (the shift lead's
alarm rule, ``checks``' unacknowledged-escalation alarm, decides when)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from checks.models import Alarm, AlarmKind, Escalation
from notifications.push import Occasion, schedule_escalation_push


@receiver(post_save, sender=Escalation, dispatch_uid="push_on_new_escalation")
def push_on_new_escalation(sender: Any, instance: Escalation, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        # After the commit: a rolled-back escalation never rings, and nobody's transaction waits.
        transaction.on_commit(partial(schedule_escalation_push, instance.id, Occasion.NEW))


@receiver(post_save, sender=Alarm, dispatch_uid="push_on_unacknowledged_escalation")
def push_on_unacknowledged_escalation(sender: Any, instance: Alarm, created: bool, **kwargs: Any) -> None:
    if (
        created
        and not kwargs.get("raw")
        and instance.kind == AlarmKind.UNACKNOWLEDGED_ESCALATION
        and instance.escalation_id is not None
    ):
        transaction.on_commit(partial(schedule_escalation_push, instance.escalation_id, Occasion.UNACKNOWLEDGED))
