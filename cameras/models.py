from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gateway.grants import Purpose
from nattillsyn.clock import STOCKHOLM
from people.models import ConsentMethod


class CameraDriverKind(models.TextChoices):
    SIMULATED = "simulated", _("Simulated camera (demo, training, tests)")
    GENERIC_RTSP = "generic_rtsp", _("Generic RTSP camera (no privacy position)")
    # A pan/tilt camera whose privacy position is a preset pointing away from the bed
    # (docs/CAMERAS.md). Cameras without pan/tilt are refused for ONVIF.
    ONVIF_PTZ = "onvif_ptz", _("ONVIF pan/tilt camera (privacy preset)")


class CameraProblem(models.TextChoices):
    """What a health probe found wrong (``Camera.last_probe_problem``). The two
    "unreachable" kinds are stored with the gateway's error after a colon."""

    UNREACHABLE = "unreachable", _("Camera not reachable")
    ROUTER_DOWN = "router_down", _("The camera's router does not answer")
    STREAM_OFFLINE = "stream_offline", _("No picture stream")
    STREAM_UNREACHABLE = "stream_unreachable", _("Picture stream not reachable")
    GATEWAY_UNREACHABLE = "gateway_unreachable", _("Camera gateway not reachable")
    PICTURE_BLACK = "picture_black", _("Black picture")
    PICTURE_FROZEN = "picture_frozen", _("Frozen picture")
    # ONVIF cameras (cameras/onvif.py); the device's own words may follow after a colon.
    WRONG_CREDENTIALS = "wrong_credentials", _("The camera refused the user name or password")
    NO_PAN_TILT = "no_pan_tilt", _("The camera has no pan/tilt (PTZ) service")
    PRESET_MISSING = "preset_missing", _("The camera lacks the view or privacy preset")
    MOVE_INCOMPLETE = "move_incomplete", _("The camera did not reach its preset in time")
    DEVICE_TIMEOUT = "device_timeout", _("The camera answered too slowly")
    DEVICE_ERROR = "device_error", _("The camera answered with an error")
    PRIVACY_NOT_REACHED = "privacy_not_reached", _("Does not reach its privacy position")


def problem_label(problem: str) -> str:
    """A stored probe problem in words, with the gateway's error (if any) after it."""
    code, _sep, detail = problem.partition(":")
    try:
        words = str(CameraProblem(code).label)
    except ValueError:
        return problem
    return f"{words}: {detail.strip()}" if detail.strip() else words


class Gateway(models.Model):
    """A camera gateway process (``GATEWAY_ID``), edited by the administrator.

    Cameras are served by the gateways of their site (``cameras.gateways``): the site's
    primaries by priority, then its standbys, then any gateway alive. With no row at all
    the settings' one gateway serves everything (``make run``)."""

    gateway_id = models.SlugField(
        _("gateway id"), max_length=40, unique=True, help_text=_("The GATEWAY_ID its process was started with.")
    )
    site = models.CharField(
        _("site"), max_length=100, blank=True, help_text=_("Cameras of this site are served here first.")
    )
    public_url = models.URLField(
        _("address for browsers"), help_text=_("Where operators' browsers reach it (WHEP), e.g. https://gw1.example.se")
    )
    internal_url = models.URLField(
        _("address for the control plane"),
        blank=True,
        help_text=_("Where the web and worker processes reach it; empty: the browsers' address."),
    )
    standby = models.BooleanField(
        _("standby"), default=False, help_text=_("Serves the site's cameras only while no primary is alive.")
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=0, help_text=_("Lower is tried first."))
    # Written by the gateway's revocation poll (every second), not by people; never audited.
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["site", "standby", "priority", "gateway_id"]
        verbose_name = _("camera gateway")
        verbose_name_plural = _("camera gateways")

    def __str__(self) -> str:
        return f"{self.gateway_id} ({self.site})" if self.site else self.gateway_id


class Camera(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="cameras")
    person = models.OneToOneField(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="camera"
    )
    name = models.CharField(_("name"), max_length=100)
    model = models.CharField(_("model"), max_length=100)
    driver = models.CharField(_("driver"), max_length=20, choices=CameraDriverKind.choices)
    stream_url = models.CharField(
        _("stream address"), max_length=300, help_text=_("rtsp://host:port/path, without user name and password")
    )
    # The camera's low-bitrate second stream, pulled by the gateway when the camera's
    # link (a weak 4G uplink) cannot carry the main one; empty: the camera has none.
    sub_stream_url = models.CharField(
        _("sub stream address"),
        max_length=300,
        blank=True,
        help_text=_("Lower-quality stream for weak connections, rtsp://host:port/path; optional"),
    )
    username = models.CharField(_("user name"), max_length=100, blank=True)
    password_encrypted = models.TextField(blank=True)
    placement_note = models.CharField(_("placement"), max_length=300, blank=True)
    simulated_scenario = models.CharField(
        _("simulated scenario"),
        max_length=20,
        blank=True,
        help_text=_("Simulated cameras only: the scene it starts with (asleep, empty, floor, dark, frozen, offline)."),
    )
    # ONVIF cameras: the device address, the media profile whose PTZ moves the camera,
    # its two presets, and how long the newest verified move took (the worker readies a
    # camera at least that long before the operator's click; checks.actions.prepare_check).
    onvif_address = models.CharField(_("ONVIF address"), max_length=200, blank=True, help_text=_("host or host:port"))
    onvif_profile = models.CharField(max_length=64, blank=True)
    view_preset = models.CharField(_("view preset"), max_length=64, blank=True)
    privacy_preset = models.CharField(_("privacy preset"), max_length=64, blank=True)
    preset_move_s = models.FloatField(null=True, blank=True, help_text="Seconds the newest verified preset move took.")
    site = models.CharField(
        _("site"),
        max_length=100,
        blank=True,
        help_text=_("The gateways of this site serve the camera (a standby when they are down); empty: any gateway."),
    )
    training_only = models.BooleanField(
        _("training camera"), default=False, help_text=_("Used only for operator training, never for a person.")
    )
    # Newest health probe (worker) or technical test (staff).
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_probe_ok = models.BooleanField(null=True)
    last_probe_problem = models.CharField(max_length=200, blank=True)
    probe_failures = models.PositiveSmallIntegerField(default=0, help_text="Failed probes in a row.")
    # The privacy reconciler (cameras/privacy.py): when the camera last reported its
    # privacy position with no grant covering it, and until when a worker holds it.
    privacy_verified_at = models.DateTimeField(null=True, blank=True)
    privacy_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_camera_name_per_tenant")]

    def __str__(self) -> str:
        return self.name

    @property
    def installation_passed(self) -> bool:
        test = self.installation_tests.order_by("-performed_at").first()
        return bool(test and test.passed and test.person_id == self.person_id)


class InstallationTest(models.Model):
    """The installer tests the camera together with an operator before camera checks begin."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="installation_tests")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    performed_at = models.DateTimeField(_("performed at"))
    installer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    passed = models.BooleanField(_("passed"))
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        ordering = ["-performed_at"]


class InstallationKind(models.TextChoices):
    INSTALLATION = "installation", _("Installation")
    REINSTALLATION = "reinstallation", _("Re-installation or service")


class InstallationBooking(models.Model):
    """An installer's (or planner's) booked slot for an installation test with picture.

    The operator may open the camera only inside the slot, and only once the person's
    consent to this very test is recorded here, beforehand, by the planner or the case
    officer (who recorded it, when, given by whom, orally or in writing)."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="+")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="installation_bookings")
    # The camera's person when booked: a booking never covers the next person the camera serves.
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=InstallationKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField()
    consent_given_by = models.CharField(_("consent given by"), max_length=200, blank=True)
    consent_method = models.CharField(_("how"), max_length=10, choices=ConsentMethod.choices, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["camera", "starts_at"])]

    def __str__(self) -> str:
        starts, ends = self.starts_at.astimezone(STOCKHOLM), self.ends_at.astimezone(STOCKHOLM)
        return f"{starts:%Y-%m-%d %H:%M}–{ends:%H:%M} ({self.get_kind_display()})"


class GrantPurpose(models.TextChoices):
    # The values are the grant format's (gateway.grants.Purpose), so both sides name the same purposes.
    CHECK = Purpose.CHECK.value, _("Check")
    INSTALL_TEST = Purpose.INSTALL_TEST.value, _("Installation test")
    TRAINING = Purpose.TRAINING.value, _("Training")
    # The gateway pulls the camera of a due check before anyone opens it, so the picture
    # is there at the click (docs/ARCHITECTURE.md). Never redeemable: nobody sees it.
    PREPARE = Purpose.PREPARE.value, _("Prepared for a due check (nobody sees it)")


class ClearPictureReason(models.TextChoices):
    """Why an operator switched a blurred view to the clear picture (a short list: the
    letter to the person says which)."""

    PERSON_NOT_VISIBLE = "person_not_visible", _("The person cannot be seen in the blurred picture")
    SUSPECTED_FALL = "suspected_fall", _("Suspected fall")
    OTHER = "other_reason", _("Other reason")


class ViewGrant(models.Model):
    """One permission to view one camera once, signed for the gateway."""

    gid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT)
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="grants")
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT)
    attempt = models.OneToOneField(
        "checks.Attempt", null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    # None for a preparation, which the worker issues and nobody views.
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=GrantPurpose.choices)
    prepared_check = models.ForeignKey(
        "checks.Check", null=True, blank=True, on_delete=models.PROTECT, related_name="preparations"
    )
    issued_at = models.DateTimeField()
    start_by = models.DateTimeField()
    hard_end = models.DateTimeField()
    max_view_s = models.PositiveIntegerField()
    # The address the operator's browser had when the grant was issued; the gateway's
    # redeem must come for a viewer at the same address (a lifted grant is useless elsewhere).
    issued_ip = models.GenericIPAddressField(null=True, blank=True)
    # The gateway that serves it (``Gateway.gateway_id``, signed into the grant); "*": any.
    gateway = models.CharField(max_length=40, default="*")
    redeemed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=100, blank=True)
    first_frame_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    bytes_sent = models.BigIntegerField(default=0)
    transcoded = models.BooleanField(default=False)
    camera_returned_to_privacy = models.BooleanField(default=False)
    # The person chose a blurred picture: set when redeemed, so the gateway blurs the view.
    blurred = models.BooleanField(default=False)
    # The operator switched to the clear picture for the rest of the view, and why.
    clear_picture_at = models.DateTimeField(null=True, blank=True)
    clear_picture_reason = models.CharField(max_length=30, blank=True, choices=ClearPictureReason.choices)

    class Meta:
        indexes = [models.Index(fields=["hard_end", "camera_returned_to_privacy"])]

    @property
    def view_duration_s(self) -> float | None:
        start = self.first_frame_at or self.redeemed_at
        if start is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - start).total_seconds())
