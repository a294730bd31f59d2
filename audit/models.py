from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logged out")
    LOGIN_LOCKED = "login_locked", _("Login locked after failed attempts")
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled", _("Authenticator app registered")
    SECOND_FACTOR_VERIFIED = "second_factor_verified", _("Second factor verified")
    SECOND_FACTOR_FAILED = "second_factor_failed", _("Wrong second-factor code")
    SECOND_FACTOR_REMOVED = "second_factor_removed", _("Security key removed")
    SESSION_EXPIRED = "session_expired", _("Session ended (idle or too long)")
    PERSON_CHANGED = "person_changed", _("Person registered or changed")
    DECISION_CHANGED = "decision_changed", _("Decision registered or changed")
    CONSENT_GIVEN = "consent_given", _("Consent registered")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    AGREEMENT_CHANGED = "agreement_changed", _("Agreement changed")
    ABSENCE_CHANGED = "absence_changed", _("Absence registered or changed")
    CAMERA_CHANGED = "camera_changed", _("Camera registered or changed")
    INSTALLATION_TEST = "installation_test", _("Installation test recorded")
    INSTALLATION_VIEW = "installation_view", _("Installation test with picture (consent given on site)")
    CHECKS_PLANNED = "checks_planned", _("Night's checks planned")
    CHECK_CANCELLED = "check_cancelled", _("Check cancelled")
    CHECK_DUE = "check_due", _("Check due")
    CHECK_OPENED = "check_opened", _("Check opened (view granted)")
    CAMERA_PREPARED = "camera_prepared", _("Camera readied for a due check (nobody sees it)")
    CAMERA_VIEW = "camera_view", _("Camera viewed")
    CHECK_OUTCOME = "check_outcome", _("Check outcome recorded")
    OUTCOME_REFUSED = "outcome_refused", _("Outcome refused (no picture seen)")
    CHECK_RELEASED = "check_released", _("Opened check released (nobody viewing)")
    RETRY_SCHEDULED = "retry_scheduled", _("Retry scheduled")
    ESCALATED = "escalated", _("Escalated")
    ESCALATION_ACKNOWLEDGED = "escalation_acknowledged", _("Escalation acknowledged")
    ESCALATION_RESOLVED = "escalation_resolved", _("Escalation result recorded")
    ALARM_RAISED = "alarm_raised", _("Alarm raised to shift lead")
    ALARM_ACKNOWLEDGED = "alarm_acknowledged", _("Alarm acknowledged")
    GRANT_REFUSED = "grant_refused", _("Camera access refused")
    GRANT_REVOKED = "grant_revoked", _("Camera access revoked")
    CAMERA_FAULT = "camera_fault", _("Camera fault found")
    AUDIT_LOG_READ = "audit_log_read", _("Audit log read")
    USER_CHANGED = "user_changed", _("User or roles changed")
    NIGHT_RECONCILED = "night_reconciled", _("Night reconciled")
    BENEFIT_PARAMETERS_CHANGED = "benefit_parameters_changed", _("Benefit parameters changed")
    AUDIT_RETENTION = "audit_retention", _("Audit entries past their retention removed")
    ACCESS_REVIEWED = "access_reviewed", _("Access reviewed (log review)")
    SESSIONS_ENDED = "sessions_ended", _("Logged out everywhere")
    IDENTITY_PROVIDER_CHANGED = "identity_provider_changed", _("Identity provider (single sign-on) changed")
    ACCESS_REFUSED = "access_refused", _("Access refused")
    PUSH_SUBSCRIBED = "push_subscribed", _("Phone alerts turned on (push)")
    PUSH_UNSUBSCRIBED = "push_unsubscribed", _("Phone alerts turned off (push)")
    PUSH_SENT = "push_sent", _("Alert sent to the night patrol's phones (push)")
    CO_RESIDENT_CHANGED = "co_resident_changed", _("Co-resident registered")
    CO_RESIDENT_CONSENT_GIVEN = "co_resident_consent_given", _("Co-resident's consent registered")
    CO_RESIDENT_CONSENT_WITHDRAWN = "co_resident_consent_withdrawn", _("Co-resident's consent withdrawn")
    CAMERA_CONCERN_OPENED = "camera_concern_opened", _("Camera found covered or turned: checks become visits")
    CAMERA_CONCERN_RESOLVED = "camera_concern_resolved", _("Case officer recorded the talk about the covered camera")
    LETTER_PRODUCED = "letter_produced", _('Letter "who looked at me" produced')
    INFORMATION_SHEET_PRODUCED = "information_sheet_produced", _("Information sheet produced")
    CLEAR_PICTURE_SHOWN = "clear_picture_shown", _("Clear picture shown instead of the blurred one")


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("the audit log is append-only")

    def delete(self) -> NoReturn:
        raise PermissionError("the audit log is append-only")


class AuditEntry(models.Model):
    """One line of the append-only, hash-chained audit log.

    ``entry_hash`` is a keyed hash over this entry's content and the hash of the entry
    before it in its chain (its municipality's, see AuditChain), so changing, deleting
    or reordering entries breaks the chain (``manage.py verify_audit_chain``).
    """

    at = models.DateTimeField(db_index=True)
    tenant = models.ForeignKey("accounts.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Indexed together with id (Meta.indexes): a chain is walked in id order.
    chain = models.ForeignKey("AuditChain", on_delete=models.PROTECT, db_index=False)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["person", "at"]),
            models.Index(fields=["tenant", "at"]),
            models.Index(fields=["chain", "id"]),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("the audit log is append-only")


class AuditChain(models.Model):
    """One hash chain of the audit log: each municipality has its own, and entries with no
    municipality (platform administration, refusals of nobody's data) go to the platform
    chain (``tenant`` empty). Locking a chain's row orders its entries, so the audited
    writes of one municipality never wait for another's.

    ``start_hash`` is where the chain starts: the genesis hash, or, once retention removed
    its oldest entries, the hash of the last one removed (through entry ``anchored_through_id``),
    which the first kept entry's ``prev_hash`` must equal. ``last_hash`` and
    ``last_entry_id`` are its newest entry.

    The platform chain also holds every entry written before chains were per municipality
    (migration 0014): the single chain of then simply goes on as the platform chain.
    """

    tenant = models.ForeignKey("accounts.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    last_hash = models.CharField(max_length=64)
    last_entry_id = models.BigIntegerField(null=True, blank=True)
    start_hash = models.CharField(max_length=64)
    anchored_through_id = models.BigIntegerField(null=True, blank=True)
    removed = models.PositiveBigIntegerField(default=0)  # by retention, in all, over every run

    class Meta:
        constraints = [
            # One chain per municipality and one platform chain (an empty tenant counts as 0).
            models.UniqueConstraint(Coalesce("tenant", Value(0)), name="audit_one_chain_per_tenant")
        ]

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}" if self.tenant_id is not None else "platform"


class RefusalCounter(models.Model):
    """Identical refusals folded while their period is open (``audit.refusals``): the
    audit log is append-only, so the count is kept here and written as one entry when
    the period closes."""

    key = models.CharField(max_length=64, unique=True)  # hash of actor, address, kind, reason
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    tenant = models.ForeignKey("accounts.Tenant", null=True, blank=True, on_delete=models.CASCADE)
    ip = models.GenericIPAddressField(null=True, blank=True)
    kind = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=40)
    period_start = models.DateTimeField(db_index=True)  # when the entry that opened it was written
    repeated = models.PositiveIntegerField(default=0)  # refusals folded since, not yet written
    last_at = models.DateTimeField()
    object_ids = models.JSONField(default=list)  # the first few ids asked for, for the auditor


class ReviewVerdict(models.TextChoices):
    OK = "ok", _("Justified")
    FOLLOW_UP = "follow_up", _("Needs follow-up")


class AccessReview(models.Model):
    """The auditor's review of one sampled access (loggkontroll)."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="reviews")
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    reviewed_at = models.DateTimeField()
    verdict = models.CharField(_("verdict"), max_length=20, choices=ReviewVerdict.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
