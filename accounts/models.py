from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CASE_OFFICER = "case_officer", _("Case officer")
    PLANNER = "planner", _("Home-care planner")
    INSTALLER = "installer", _("Installer")
    OPERATOR = "operator", _("Operator")
    PATROL = "patrol", _("Night patrol")
    SHIFT_LEAD = "shift_lead", _("Shift lead")
    ADMINISTRATOR = "administrator", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


class Tenant(models.Model):
    """A municipality. Every piece of care data belongs to exactly one tenant."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(unique=True)
    overdue_grace_min = models.PositiveIntegerField(
        _("overdue alarm after (minutes)"),
        default=10,
        help_text=_("A due check not started within this time raises an alarm to the shift lead."),
    )
    escalation_ack_min = models.PositiveIntegerField(
        _("escalation acknowledgement time (minutes)"),
        default=10,
        help_text=_("An escalation not acknowledged by the night patrol within this time alerts the shift lead."),
    )
    check_window_min = models.PositiveIntegerField(
        _("check window (minutes)"),
        default=60,
        help_text=_("How long after its time a camera check may still be made; then it escalates to a visit."),
    )
    view_seconds = models.PositiveIntegerField(_("view time (seconds)"), default=30)
    min_view_s = models.PositiveIntegerField(
        _('shortest look before "seen" (seconds)'),
        default=2,
        help_text=_("A person can be recorded as seen only after the picture has been shown this long."),
    )
    show_operator_name_in_letters = models.BooleanField(
        _("show the operator's name in letters"),
        default=False,
        help_text=_(
            'The letter "who looked at me" names the operator who looked, not only the role and the organisation.'
        ),
    )
    contact_phone = models.CharField(
        _("contact phone for persons under supervision"),
        max_length=40,
        blank=True,
        help_text=_("Printed on the information sheet and the letters: whom to call with questions."),
    )
    camera_networks = models.TextField(
        _("networks cameras may be opened from"),
        blank=True,
        help_text=_(
            "IP ranges (CIDR), one per line. Empty: any network. Some municipalities let staff "
            "supervise only from their own offices."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from accounts.networks import parse_networks

        try:
            parse_networks(self.camera_networks)
        except ValueError as exc:
            raise ValidationError({"camera_networks": _("Not a valid IP range: %(error)s") % {"error": exc}}) from exc


class Membership(models.Model):
    """A user's role in one tenant. A user may hold several roles and tenants."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant", "role"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} – {self.tenant} – {self.get_role_display()}"


class TotpDevice(models.Model):
    """The user's authenticator app (TOTP, RFC 6238): the second factor for every role."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret_encrypted = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The newest time step accepted, so a code cannot be used twice.
    last_used_step = models.BigIntegerField(default=0)


class LoginThrottle(models.Model):
    """Failed logins per user name; too many in a row lock the name for a while."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)


class WebAuthnCredential(models.Model):
    """A security key or passkey (WebAuthn): the second kind of second factor."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials")
    name = models.CharField(_("name"), max_length=100)
    credential_id = models.CharField(max_length=1400, unique=True)  # base64url, as the browser reports it
    public_key = models.BinaryField()  # COSE key
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} – {self.name}"


class SessionRevocation(models.Model):
    """ "Log out everywhere": every session of the user begun before ``ended_at`` is over,
    in every browser and device, whatever the session store."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_revocation")
    ended_at = models.DateTimeField()
