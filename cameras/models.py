from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gateway.grants import Purpose


class CameraDriverKind(models.TextChoices):
    SIMULATED = "simulated", _("Simulated camera (demo, training, tests)")
    GENERIC_RTSP = "generic_rtsp", _("Generic RTSP camera (no privacy position)")


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


def problem_label(problem: str) -> str:
    """A stored probe problem in words, with the gateway's error (if any) after it."""
    code, _sep, detail = problem.partition(":")
    try:
        words = str(CameraProblem(code).label)
    except ValueError:
        return problem
    return f"{words}: {detail.strip()}" if detail.strip() else words


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
    username = models.CharField(_("user name"), max_length=100, blank=True)
    password_encrypted = models.TextField(blank=True)
    placement_note = models.CharField(_("placement"), max_length=300, blank=True)
    simulated_scenario = models.CharField(
        _("simulated scenario"),
        max_length=20,
        blank=True,
        help_text=_("Simulated cameras only: the scene it starts with (asleep, empty, floor, dark, frozen, offline)."),
    )
    training_only = models.BooleanField(
        _("training camera"), default=False, help_text=_("Used only for operator training, never for a person.")
    )
    # Newest health probe (worker) or technical test (staff).
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_probe_ok = models.BooleanField(null=True)
    last_probe_problem = models.CharField(max_length=200, blank=True)
    probe_failures = models.PositiveSmallIntegerField(default=0, help_text="Failed probes in a row.")

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


class GrantPurpose(models.TextChoices):
    # The values are the grant format's (gateway.grants.Purpose), so both sides name the same purposes.
    CHECK = Purpose.CHECK.value, _("Check")
    INSTALL_TEST = Purpose.INSTALL_TEST.value, _("Installation test")
    TRAINING = Purpose.TRAINING.value, _("Training")
    # The gateway pulls the camera of a due check before anyone opens it, so the picture
    # is there at the click (docs/ARCHITECTURE.md). Never redeemable: nobody sees it.
    PREPARE = Purpose.PREPARE.value, _("Prepared for a due check (nobody sees it)")


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
    redeemed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=100, blank=True)
    first_frame_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    bytes_sent = models.BigIntegerField(default=0)
    transcoded = models.BooleanField(default=False)
    camera_returned_to_privacy = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["hard_end", "camera_returned_to_privacy"])]

    @property
    def view_duration_s(self) -> float | None:
        start = self.first_frame_at or self.redeemed_at
        if start is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - start).total_seconds())
