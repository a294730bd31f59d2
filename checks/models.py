from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CheckForm(models.TextChoices):
    CAMERA = "camera", _("Camera")
    PHYSICAL = "physical", _("Physical visit")


class Agreement(models.Model):
    """What was agreed with the person: times, form, retry delay and escalation plan."""

    person = models.OneToOneField("people.Person", on_delete=models.CASCADE, related_name="agreement")
    retry_delay_min = models.PositiveIntegerField(_("retry after (minutes)"), default=15)
    notes = models.TextField(_("notes for the operator"), blank=True)
    # Set from nattillsyn.clock by every change that affects planning (times, decision),
    # so the worker re-plans only these persons.
    updated_at = models.DateTimeField(db_index=True)


class AgreedTime(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="times")
    time = models.TimeField(_("time"))
    form = models.CharField(_("form"), max_length=10, choices=CheckForm.choices, default=CheckForm.CAMERA)
    # A time agreed at 01:00 does not create a missed 23:00 check the same night:
    # only checks whose window is still open when the time is agreed are planned.
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["time"]
        constraints = [models.UniqueConstraint(fields=["agreement", "time"], name="unique_agreed_time")]


class EscalationKind(models.TextChoices):
    VISIT = "visit", _("Physical visit")
    CALL_PERSON = "call_person", _("Phone call to the person")
    CALL_RELATIVE = "call_relative", _("Call a relative")


class EscalationStep(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="escalation_steps")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(_("step"), max_length=20, choices=EscalationKind.choices)

    class Meta:
        ordering = ["order"]


class CheckState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DUE = "due", _("Due")
    IN_PROGRESS = "in_progress", _("In progress")
    RETRY_WAIT = "retry_wait", _("Waiting for retry")
    VISIT_PENDING = "visit_pending", _("Visit pending")
    DONE = "done", _("Done")
    ESCALATED = "escalated", _("Escalated")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_CHECK_STATES = (
    CheckState.PLANNED,
    CheckState.DUE,
    CheckState.IN_PROGRESS,
    CheckState.RETRY_WAIT,
    CheckState.VISIT_PENDING,
)
END_CHECK_STATES = (CheckState.DONE, CheckState.ESCALATED, CheckState.CANCELLED)


class Check(models.Model):
    """One agreed check on one night. Ends as done, escalated or cancelled (with reason)."""

    # Planning inserts 300,000 rows a night at 100,000 persons, so each index and
    # foreign-key check on this table counts (docs/RELIABILITY.md, scale):
    # - no single-column indexes on tenant and person: (person, scheduled_at) and the
    #   reports app's (tenant, night, …) index lead with them;
    # - no database-level foreign key for tenant and agreed time: PostgreSQL checks one
    #   by locking the referenced row, 300,000 times on the same tenant row, which
    #   doubled the time to insert a night. Tenants are never deleted (all care data
    #   protects them) and Django itself sets agreed_time to NULL when a time is removed.
    #   The person keeps its database-level foreign key.
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.PROTECT, related_name="checks", db_index=False, db_constraint=False
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="checks", db_index=False)
    agreed_time = models.ForeignKey(AgreedTime, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False)
    night = models.DateField(help_text="The date on which the night begins.")
    scheduled_at = models.DateTimeField()
    form = models.CharField(max_length=10, choices=CheckForm.choices)
    form_note = models.CharField(max_length=100, blank=True, help_text="Why a camera time became a visit.")
    state = models.CharField(max_length=20, choices=CheckState.choices, default=CheckState.PLANNED)
    due_at = models.DateTimeField(null=True, blank=True)
    window_ends_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    not_visible_count = models.PositiveSmallIntegerField(default=0)
    overdue_alarm_raised = models.BooleanField(default=False)
    camera_fault = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["scheduled_at"]
        constraints = [
            models.UniqueConstraint(fields=["person", "scheduled_at"], name="unique_check_per_person_and_time")
        ]
        indexes = [models.Index(fields=["state", "scheduled_at"])]

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CHECK_STATES


class Outcome(models.TextChoices):
    SEEN_OK = "seen_ok", _("Seen, OK")
    NOT_VISIBLE = "not_visible", _("Not visible")
    NEEDS_HELP = "needs_help", _("Needs help")
    TECHNICAL_FAULT = "technical_fault", _("Technical fault")


class Attempt(models.Model):
    """One opening of the camera for a check, by one operator."""

    night_check = models.ForeignKey(Check, on_delete=models.PROTECT, related_name="attempts")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at"]


class EscalationCause(models.TextChoices):
    NOT_VISIBLE = "not_visible", _("Not visible twice")
    NEEDS_HELP = "needs_help", _("Needs help")
    TECHNICAL_FAULT = "technical_fault", _("Technical fault")
    MISSED = "missed", _("Check not made in time")
    PLANNED_VISIT = "planned_visit", _("Agreed physical visit")


class EscalationState(models.TextChoices):
    OPEN = "open", pgettext_lazy("escalation state", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class EscalationResult(models.TextChoices):
    VISITED_OK = "visited_ok", _("Visited: OK")
    VISITED_NEEDED_HELP = "visited_needed_help", _("Visited: needed help")
    NOT_HOME = "not_home", _("Visited: not home")
    CALLED_OK = "called_ok", _("Phone call made: OK")
    CALLED_NO_ANSWER = "called_no_answer", _("Phone call made: no answer")
    # Set by register_absence for a planned visit nobody needs to make, never by the patrol.
    CANCELLED_ABSENCE = "cancelled_absence", _("Cancelled: the person is away (absence registered)")


# What the night patrol can record; the rest are set by the system.
PATROL_RESULTS = [choice for choice in EscalationResult.choices if choice[0] != EscalationResult.CANCELLED_ABSENCE]


class Escalation(models.Model):
    """Work for the night patrol: a visit and/or phone call, in the agreed order."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="escalations")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="escalations")
    night_check = models.ForeignKey(Check, null=True, blank=True, on_delete=models.PROTECT, related_name="escalations")
    cause = models.CharField(max_length=20, choices=EscalationCause.choices)
    plan = models.JSONField(default=list, help_text="Escalation steps in order, copied from the agreement.")
    state = models.CharField(max_length=20, choices=EscalationState.choices, default=EscalationState.OPEN)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ack_alarm_raised = models.BooleanField(default=False)
    result = models.CharField(max_length=30, choices=EscalationResult.choices, blank=True)
    result_note = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["state", "created_at"])]


class AlarmKind(models.TextChoices):
    OVERDUE_CHECK = "overdue_check", _("Check overdue")
    UNENDED_CHECK = "unended_check", _("Check without an end state after the night")
    UNACKNOWLEDGED_ESCALATION = "unacknowledged_escalation", _("Escalation not acknowledged")
    CAMERA_FAULT = "camera_fault", _("Camera fault")


class Alarm(models.Model):
    """Something the shift lead must act on."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="alarms")
    kind = models.CharField(max_length=30, choices=AlarmKind.choices)
    night_check = models.ForeignKey(Check, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]


class NightPlan(models.Model):
    """When a tenant's night was last planned; later changes are planned incrementally."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    night = models.DateField()
    planned_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "night"], name="unique_night_plan")]


class NightReconciliation(models.Model):
    """The end-of-night account: every check of the night and its end state.

    A check still open when its night is over is an incident: somebody was promised
    a look or a visit and the record does not show one.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE)
    night = models.DateField()
    made_at = models.DateTimeField()
    checks_total = models.PositiveIntegerField()
    end_states = models.JSONField(default=dict)
    incident_check_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["-night"]
        constraints = [models.UniqueConstraint(fields=["tenant", "night"], name="unique_reconciliation")]


class WorkerHeartbeat(models.Model):
    name = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField()


class ConsolePresence(models.Model):
    """When an operator's console of a municipality last asked for its list. The worker
    readies the cameras of due checks only while someone is there to open them: a
    camera pulled for nobody costs 4G data and keeps the camera out of its privacy
    position for nothing."""

    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE)
    last_seen = models.DateTimeField()


class ConcernKind(models.TextChoices):
    """How a camera was found out of use at a time the person could have done it
    (the rule: checks/covered.py)."""

    COVERED = "covered", _("Picture black or frozen while the stream is up")
    TURNED = "turned", _("Camera does not reach its privacy position")
    REMOVED = "removed", _("Camera does not answer while its router does")
    REPORTED = "reported", _("Staff found the camera covered or turned")


class ConcernOutcome(models.TextChoices):
    CAMERA_WANTED = "camera_wanted", _("Talked with the person: they want the camera checks back")
    NOT_BY_PERSON = "not_by_person", _("Not the person's doing (moved by someone else or a fault): camera checks back")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("The person no longer wants the camera: consent withdrawn")


class CameraConcern(models.Model):
    """A camera found covered, turned away or removed: the person's checks are visits
    and the case officer talks with the person before the camera is used again."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="camera_concerns")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="camera_concerns")
    kind = models.CharField(max_length=20, choices=ConcernKind.choices)
    evidence = models.CharField(max_length=200, blank=True)
    found_at = models.DateTimeField()
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=30, choices=ConcernOutcome.choices, blank=True)
    outcome_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-found_at"]
        constraints = [
            # One open concern per person: a second finding while the first is open adds nothing.
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(resolved_at__isnull=True), name="one_open_camera_concern"
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
