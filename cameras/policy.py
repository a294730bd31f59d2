"""Who may see a camera: the one privacy policy.

One question, for every purpose a camera is opened for (``gateway.grants.Purpose``: a
check or its retry, the worker's preparation of a due check, an installation test,
training): *may this viewer see this camera now, for this purpose, from this address,
and until when?* ``view_permission`` answers it when a view is granted;
``start_refusal`` asks it again when the gateway redeems the grant, so a change between
the two (consent withdrawn, check closed, the municipality's networks narrowed) still
stops the view. Every answer is a ``ViewRefusal`` (shared with the gateway) or a
permission with the instant the view must end by.

What it reads lives below it: whether a decision or consent stands
(``people.validity``), the household's consent (``people.rules``), a covered camera
(``checks.covered``), the municipality's networks (``accounts.networks``). What keeps a
camera out of its privacy position while a grant may still be used is
``cameras.privacy.covering_grants``; the grants themselves are ``cameras.actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.networks import address_allowed, parse_networks
from cameras.models import Camera, InstallationBooking
from checks.covered import camera_concern_refusal
from checks.models import Check, CheckForm, CheckState
from gateway.grants import Purpose, ViewRefusal
from nattillsyn import clock
from nattillsyn.net import normalise_ip
from people.models import Person
from people.rules import co_resident_consent_spans, household_consent_refusal
from people.validity import held_until

if TYPE_CHECKING:
    from accounts.models import Tenant
    from cameras.models import ViewGrant

# A first attempt may be opened this long before its agreed time. A retry may not be
# opened before its agreed delay has passed: the delay is what the person agreed to
# (time to get back to bed, to the bathroom and back), so it is not shortened.
EARLY_OPEN = timedelta(minutes=5)

# What a refused open says to the one who clicked (those whose words need facts, the
# booked slot and the municipality's name, are written where the facts are).
REFUSAL_MESSAGES = {
    ViewRefusal.NOT_A_CAMERA_CHECK: _("This check is a physical visit, not a camera check."),
    ViewRefusal.RETRY_NOT_YET_DUE: _("The new attempt is not due yet."),
    ViewRefusal.NOT_YET_DUE: _("The check is not due yet."),
    ViewRefusal.CHECK_NOT_OPEN: _("The check is already closed."),
    ViewRefusal.OUTSIDE_CHECK_WINDOW: _("The time window for this check has passed."),
    ViewRefusal.NO_VALID_CONSENT: _("There is no valid consent to camera supervision."),
    ViewRefusal.NO_VALID_DECISION: _("There is no valid decision on night supervision."),
    ViewRefusal.NO_CAMERA: _("No camera is assigned to the person."),
    ViewRefusal.CAMERA_NOT_TESTED: _("The camera's installation test has not been passed."),
    ViewRefusal.NO_CO_RESIDENT_CONSENT: _("Someone living in the home has not consented to camera supervision."),
    ViewRefusal.NO_PERSON: _("Assign the camera to a person before the installation test."),
    ViewRefusal.NO_INSTALLATION_BOOKING: _("No installation test is booked for this camera."),
    ViewRefusal.NO_INSTALLATION_CONSENT: _(
        "The person's consent to this installation test is not recorded: the planner or case officer records it first."
    ),
    ViewRefusal.NOT_A_TRAINING_CAMERA: _("Only training cameras can be opened in training mode."),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, reason))  # type: ignore[call-overload]


@dataclass(frozen=True)
class ViewPermission:
    """The policy's answer. Refused: ``refusal`` and the words for the viewer. Allowed:
    the view must end by ``until`` (None: only the grant's own limits end it)."""

    refusal: ViewRefusal | None = None
    message: str = ""
    until: datetime | None = None
    booking: InstallationBooking | None = None  # the installation test's slot

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def refused(reason: ViewRefusal, message: str | None = None) -> ViewPermission:
    return ViewPermission(refusal=reason, message=message if message is not None else refusal_message(reason))


def view_permission(
    *, purpose: Purpose, moment: datetime, ip: str | None, camera: Camera | None = None, check: Check | None = None
) -> ViewPermission:
    """May someone at ``ip`` see ``camera`` at ``moment`` for ``purpose``, and until when?

    The purpose's own rule first (its reason is the more useful one to hear), then the
    municipality's networks. A preparation shows nobody, so it has no viewer address.
    """
    if purpose in (Purpose.CHECK, Purpose.PREPARE):
        if check is None:
            raise ValueError("a check's view needs its check")
        permission = _check_permission(check, moment, preparing=purpose == Purpose.PREPARE)
    elif camera is None:
        raise ValueError("an installation test or training needs its camera")
    elif purpose == Purpose.INSTALL_TEST:
        permission = _installation_permission(camera, moment)
    elif purpose == Purpose.TRAINING:
        permission = _training_permission(camera)
    else:  # pragma: no cover - Purpose is closed
        raise ValueError(purpose)
    if permission.allowed and purpose != Purpose.PREPARE:
        tenant = camera.tenant if camera is not None else check.tenant  # type: ignore[union-attr]
        network = network_permission(tenant, ip)
        if not network.allowed:
            return network
    return permission


def start_refusal(
    grant: ViewGrant, moment: datetime, *, viewer_ip: str | None, address_reported: bool
) -> tuple[ViewRefusal | None, str | None]:
    """May the view of this (unused) grant start now? Asked when the gateway redeems it.
    Returns the refusal (None: it may) and the address to record it against."""
    issued_ip = normalise_ip(grant.issued_ip)
    refusal = _grant_refusal(grant, moment)
    if refusal is not None:
        return refusal, issued_ip
    if address_reported and issued_ip is not None and normalise_ip(viewer_ip) != issued_ip:
        # A grant lifted from the page (a shared screen, a proxy log, malware) is
        # useless from anywhere else; an unknown viewer address fails closed.
        return ViewRefusal.ADDRESS_MISMATCH, normalise_ip(viewer_ip)
    # The address the grant was issued to must still be inside the municipality's
    # networks now: they may have been narrowed since.
    networks = grant.tenant.camera_networks
    if parse_networks(networks) and not address_allowed(networks, issued_ip):
        return ViewRefusal.NETWORK_NOT_ALLOWED, issued_ip
    return None, issued_ip


def _grant_refusal(grant: ViewGrant, moment: datetime) -> ViewRefusal | None:
    if grant.purpose == Purpose.PREPARE:
        return ViewRefusal.NOT_VIEWABLE
    if grant.revoked_at is not None:
        return ViewRefusal.REVOKED
    if moment >= grant.start_by or moment >= grant.hard_end:
        return ViewRefusal.EXPIRED
    if grant.purpose == Purpose.CHECK:
        if grant.attempt is None or grant.attempt.outcome:
            return ViewRefusal.CHECK_CLOSED
        return camera_view_startable(grant.attempt.night_check, moment)
    if grant.purpose == Purpose.TRAINING:
        return (
            _training_permission(grant.camera).refusal if grant.person_id is None else ViewRefusal.NOT_A_TRAINING_CAMERA
        )
    # An installation test: its slot was asked when it was granted (the grant ends with
    # it); the household's consent is asked again.
    if grant.person is not None:
        return _reason(household_consent_refusal(grant.person, moment))
    return None


# A check and its retry.


def check_opens_at(check: Check) -> datetime | None:
    """The earliest instant an operator may open this check (None: not a check to open)."""
    if check.state == CheckState.RETRY_WAIT:
        return check.next_attempt_at
    if check.state in (CheckState.PLANNED, CheckState.DUE, CheckState.IN_PROGRESS):
        return check.scheduled_at - EARLY_OPEN
    return None


def openable_checks(moment: datetime) -> Q:
    """``check_opens_at(check) <= moment`` as an ORM filter (the console's work of now);
    ``camera_check_openable`` still decides each open."""
    return (
        Q(state__in=(CheckState.DUE, CheckState.IN_PROGRESS))
        | Q(state=CheckState.PLANNED, scheduled_at__lte=moment + EARLY_OPEN)
        | Q(state=CheckState.RETRY_WAIT, next_attempt_at__lte=moment)
    )


def camera_check_openable(check: Check, moment: datetime) -> ViewRefusal | None:
    """May an operator open the camera for this check at ``moment``?"""
    if check.form != CheckForm.CAMERA:
        return ViewRefusal.NOT_A_CAMERA_CHECK
    opens_at = check_opens_at(check)
    if opens_at is None or check.state == CheckState.IN_PROGRESS:
        return ViewRefusal.CHECK_NOT_OPEN
    if moment < opens_at:
        return ViewRefusal.RETRY_NOT_YET_DUE if check.state == CheckState.RETRY_WAIT else ViewRefusal.NOT_YET_DUE
    if check.window_ends_at is not None and moment >= check.window_ends_at:
        return ViewRefusal.OUTSIDE_CHECK_WINDOW
    return camera_allowed_for_person(check.person, moment)


def camera_view_startable(check: Check, moment: datetime) -> ViewRefusal | None:
    """May the view of an opened check start now (asked when the gateway redeems)?"""
    if check.form != CheckForm.CAMERA:
        return ViewRefusal.NOT_A_CAMERA_CHECK
    if check.state != CheckState.IN_PROGRESS:
        return ViewRefusal.CHECK_NOT_OPEN
    if check.window_ends_at is not None and moment >= check.window_ends_at:
        return ViewRefusal.OUTSIDE_CHECK_WINDOW
    return camera_allowed_for_person(check.person, moment)


def camera_check_view_ends_by(check: Check, moment: datetime) -> datetime | None:
    """The latest end of a view of ``check`` opened at ``moment``: the check's window
    and the person's consent and decision, whichever ends first."""
    return earliest(check.window_ends_at, camera_allowed_until(check.person, moment))


def _check_permission(check: Check, moment: datetime, *, preparing: bool) -> ViewPermission:
    if preparing and check.state != CheckState.DUE:
        return refused(ViewRefusal.CHECK_NOT_OPEN)
    refusal = camera_check_openable(check, moment)
    if refusal is not None:
        return refused(refusal)
    return ViewPermission(until=camera_check_view_ends_by(check, moment))


# The person: asked for every purpose that shows one, and by planning and due time.


def camera_allowed_for_person(person: Person, moment: datetime) -> ViewRefusal | None:
    """Does this person allow camera supervision at ``moment``? Their own consent and
    that of everyone living with them must stand (people.rules), a decision must cover
    it, their camera must have passed its installation test, and no covered or turned
    camera may be waiting for the case officer's talk (checks.covered).

    ``person`` is a Person or the planner's facts about one (the same relations)."""
    consent_refusal = _reason(household_consent_refusal(person, moment))
    if consent_refusal is not None:
        return consent_refusal
    if not any(decision.covers(moment) for decision in person.decisions.all()):
        return ViewRefusal.NO_VALID_DECISION
    camera = getattr(person, "camera", None)
    if camera is None:
        return ViewRefusal.NO_CAMERA
    if not camera.installation_passed:
        return ViewRefusal.CAMERA_NOT_TESTED
    return _reason(camera_concern_refusal(person))


def camera_allowed_until(person: Person, moment: datetime, *, needs_decision: bool = True) -> datetime | None:
    """Until when the person's consents (and decisions) allow the camera, counted on
    from ``moment``: ``moment`` itself if they do not then, None if nothing registered
    ends it. A view started at ``moment`` must end by then: a trial period or a
    decision ends at midnight without anyone revoking the view that is running."""
    until = held_until((consent.valid_span() for consent in person.consents.all()), moment)
    for spans in co_resident_consent_spans(person):
        until = earliest(until, held_until(spans, moment))
    if needs_decision:
        until = earliest(until, held_until((decision.valid_span() for decision in person.decisions.all()), moment))
    return until


# The installation test and training.


def installation_slot(camera: Camera, person: Person, moment: datetime) -> ViewPermission:
    """The booked slot (with the person's consent to the test recorded beforehand) that
    allows an installation view of ``camera`` at ``moment``, or why none does."""
    bookings = InstallationBooking.objects.filter(camera=camera, person=person)
    current = bookings.filter(starts_at__lte=moment, ends_at__gt=moment).order_by("-consent_recorded_at").first()
    if current is None:
        upcoming = bookings.filter(starts_at__gt=moment).first()
        if upcoming is None:
            return refused(ViewRefusal.NO_INSTALLATION_BOOKING)
        starts = upcoming.starts_at.astimezone(clock.STOCKHOLM)
        return refused(
            ViewRefusal.OUTSIDE_INSTALLATION_SLOT,
            gettext("The installation test is booked for %(start)s: the picture can be shown only then.")
            % {"start": starts.strftime("%Y-%m-%d %H:%M")},
        )
    if current.consent_recorded_at is None or current.consent_recorded_at > moment:
        return refused(ViewRefusal.NO_INSTALLATION_CONSENT)
    return ViewPermission(until=current.ends_at, booking=current)


def _installation_permission(camera: Camera, moment: datetime) -> ViewPermission:
    """Only inside a booked slot with the person's consent to that test, and with the
    household's consent to the camera standing (no decision or passed test is needed:
    this is the test); the view ends with the slot, or earlier when the registered
    consent does (a trial period at midnight)."""
    person = camera.person
    if person is None:
        return refused(ViewRefusal.NO_PERSON)
    slot = installation_slot(camera, person, moment)
    if not slot.allowed or slot.until is None:
        return slot
    consent_refusal = _reason(household_consent_refusal(person, moment))
    if consent_refusal is not None:
        return refused(consent_refusal)
    consent_ends = camera_allowed_until(person, moment, needs_decision=False)
    until = slot.until if consent_ends in (None, moment) else min(slot.until, consent_ends)  # type: ignore[type-var]
    return ViewPermission(until=until, booking=slot.booking)


def _training_permission(camera: Camera) -> ViewPermission:
    """Training shows a simulated camera that shows nobody, and only that."""
    if not camera.training_only or camera.person_id is not None:
        return refused(ViewRefusal.NOT_A_TRAINING_CAMERA)
    return ViewPermission()


# Where the viewer is.


def network_permission(tenant: Tenant, ip: str | None) -> ViewPermission:
    """The municipality lets cameras be opened only from its own networks (if it set any)."""
    if address_allowed(tenant.camera_networks, ip):
        return ViewPermission()
    return refused(
        ViewRefusal.NETWORK_NOT_ALLOWED,
        gettext("Cameras of %(municipality)s can only be opened from its own networks.")
        % {"municipality": tenant.name},
    )


def _reason(value: Any) -> ViewRefusal | None:
    return None if value is None else ViewRefusal(value)


def earliest(*instants: datetime | None) -> datetime | None:
    known = [instant for instant in instants if instant is not None]
    return min(known) if known else None
