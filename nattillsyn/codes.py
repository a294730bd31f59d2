"""Words for the codes the system stores: every code a page shows goes through
``label`` (template filter ``code_label``), and an audit entry's details through
``describe`` (filter ``audit_detail``), so staff read Swedish sentences, never
``picture_black`` or a Python dict.

This module sits above the apps (like ``nattillsyn.testing``): it reads their enums,
and the apps' templates load it as the template library ``codes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django import template
from django.db.models import TextChoices
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from audit.models import AuditAction, ReviewVerdict
from cameras.models import Camera, CameraDriverKind, CameraProblem, ClearPictureReason, GrantPurpose, problem_label
from checks.models import (
    AlarmKind,
    CheckForm,
    CheckState,
    ConcernKind,
    ConcernOutcome,
    EscalationCause,
    EscalationKind,
    EscalationResult,
    EscalationState,
    Outcome,
)
from checks.reasons import ReasonKind
from nattillsyn import clock
from people.models import AbsenceKind, ConsentMethod, Person

register = template.Library()

# Reasons stored as plain strings by the rules, the grants and the gateway's reports.
REASONS = {
    # cameras.policy: why a camera may not be opened now
    "not_a_camera_check": gettext_lazy("Physical visit, not a camera check"),
    "retry_not_yet_due": gettext_lazy("New attempt not due yet"),
    "not_yet_due": gettext_lazy("Not due yet"),
    "check_not_open": gettext_lazy("Check already closed"),
    "outside_check_window": gettext_lazy("Outside the check's time window"),
    "no_valid_consent": gettext_lazy("No valid consent"),
    "no_co_resident_consent": gettext_lazy("A co-resident has not consented"),
    "no_valid_decision": gettext_lazy("No valid decision"),
    "no_camera": gettext_lazy("No camera"),
    "camera_not_tested": gettext_lazy("Camera not tested"),
    "agreed_physical": gettext_lazy("Agreed as a physical visit"),
    "camera_covered": gettext_lazy(
        "Camera found covered or turned: visits until the case officer has talked with the person"
    ),
    "no_person": gettext_lazy("Camera not assigned to a person"),
    "address_mismatch": gettext_lazy("Grant used from another address than it was issued to"),
    "unknown": gettext_lazy("Unknown grant"),
    "already_used": gettext_lazy("Grant already used"),
    "not_viewable": gettext_lazy("A preparation: never shown"),
    # cameras.actions: grants refused, revoked or ended
    "network_not_allowed": gettext_lazy("From a network the municipality does not allow"),
    "revoked": gettext_lazy("Revoked"),
    "expired": gettext_lazy("Grant expired"),
    "check_closed": gettext_lazy("Check closed"),
    "not_a_training_camera": gettext_lazy("Not a training camera"),
    "decision_ended": gettext_lazy("Decision ended"),
    "consent_withdrawn": gettext_lazy("Consent withdrawn"),
    "no_installation_booking": gettext_lazy("No installation test booked"),
    "outside_installation_slot": gettext_lazy("Outside the booked installation slot"),
    "no_installation_consent": gettext_lazy("No consent to the installation test"),
    "camera_repointed": gettext_lazy("Camera pointed at another device"),
    "co_resident_consent_withdrawn": gettext_lazy("A co-resident withdrew their consent"),
    "co_resident_added": gettext_lazy("A co-resident moved in (no consent yet)"),
    # cameras.clear_view: the clear picture of a blurred view refused
    "not_your_view": gettext_lazy("Another operator's view"),
    "not_blurred": gettext_lazy("The view is not blurred"),
    "view_not_live": gettext_lazy("The view is not running"),
    # the gateway's end of a view (docs/GATEWAY_PROTOCOL.md)
    "grant_end": gettext_lazy("View time over"),
    "viewer_closed": gettext_lazy("Closed by the viewer"),
    "camera_lost": gettext_lazy("Camera picture lost"),
    "outcome_recorded": gettext_lazy("Outcome recorded"),
    "shutdown": gettext_lazy("Gateway restarted"),
    # who probed a camera, and what else a probe may find
    "worker": gettext_lazy("the background service"),
    "out_of_privacy_position": gettext_lazy("Not in its privacy position"),
    # audit.review: kinds of unusual access
    "long_view": gettext_lazy("View longer than allowed"),
    "many_persons": gettext_lazy("Many persons in a short time"),
    "outside_rules": gettext_lazy("Attempt outside the rules"),
    # notifications: the patrol's phone alerts (push)
    "new_escalation": gettext_lazy("New escalation"),
    "still_unacknowledged": gettext_lazy("Escalation still not acknowledged"),
    "another_user": gettext_lazy("Another user turned alerts on on the same phone"),
    "turned_off": gettext_lazy("Turned off on the phone"),
    "gone": gettext_lazy("The push service no longer knows the phone"),
    "no_longer_patrol": gettext_lazy("No longer on the night patrol, or logged out everywhere"),
    "push_service_not_allowed": gettext_lazy("Not a push service this installation allows"),
}

# Codes with a prefix and a value: "absence:hospital", "visit:visited_ok",
# "stream_unreachable: <the gateway's error>".
PREFIXES = {kind.value: kind.label for kind in ReasonKind}

# The first enum with a value names it: a check's end reason "not_visible" is the
# escalation's cause (not visible twice), not one attempt's outcome.
ENUMS: tuple[type[TextChoices], ...] = (
    EscalationCause,
    Outcome,
    EscalationResult,
    EscalationKind,
    EscalationState,
    AbsenceKind,
    CheckState,
    CheckForm,
    AlarmKind,
    CameraProblem,
    GrantPurpose,
    ClearPictureReason,
    CameraDriverKind,
    ConsentMethod,
    ReviewVerdict,
    AuditAction,
    Role,
    ConcernKind,
    ConcernOutcome,
)

# Names of the audit details' keys (audit.records.record(detail=...)).
DETAIL_KEYS = {
    "reason": gettext_lazy("reason"),
    "device": gettext_lazy("phone"),
    "devices": gettext_lazy("phones reached"),
    "occasion": gettext_lazy("occasion"),
    "failed": gettext_lazy("failed"),
    "kind": gettext_lazy("kind"),
    "evidence": gettext_lazy("found"),
    "problem": gettext_lazy("problem"),
    "note": gettext_lazy("note"),
    "night": gettext_lazy("night"),
    "name": gettext_lazy("name"),
    "check": gettext_lazy("check"),
    "cause": gettext_lazy("cause"),
    "plan": gettext_lazy("plan"),
    "outcome": gettext_lazy("outcome"),
    "result": gettext_lazy("result"),
    "purpose": gettext_lazy("purpose"),
    "end_reason": gettext_lazy("ended because"),
    "valid_from": gettext_lazy("valid from"),
    "valid_to": gettext_lazy("valid to"),
    "from": gettext_lazy("from"),
    "to": gettext_lazy("to"),
    "until": gettext_lazy("until"),
    "trial_until": gettext_lazy("trial period until"),
    "times": gettext_lazy("times"),
    "retry_delay_min": gettext_lazy("retry after (minutes)"),
    "camera": gettext_lazy("camera"),
    "operator": gettext_lazy("operator"),
    "user": gettext_lazy("user"),
    "username": gettext_lazy("user name"),
    "passed": gettext_lazy("passed"),
    "method": gettext_lazy("method"),
    "given_by": gettext_lazy("given by"),
    "consent_given_by": gettext_lazy("consent given by"),
    "fields": gettext_lazy("changed"),
    "changes": gettext_lazy("changes"),
    "roles_before": gettext_lazy("roles before"),
    "roles_after": gettext_lazy("roles after"),
    "verdict": gettext_lazy("verdict"),
    "filter": gettext_lazy("filter"),
    "extract": gettext_lazy("extract"),
    "rows": gettext_lazy("rows"),
    "provider": gettext_lazy("identity provider"),
    "form": gettext_lazy("form"),
    "checks": gettext_lazy("checks"),
    "n": gettext_lazy("number"),
    "gateway": gettext_lazy("gateway"),
    "probe": gettext_lazy("tested by"),
    "flags": gettext_lazy("flags"),
    "entries": gettext_lazy("entries"),
    "password_changed": gettext_lazy("password changed"),
    "technical_test": gettext_lazy("technical test"),
    "restored": gettext_lazy("restored"),
    "removed": gettext_lazy("removed"),
    "escalation": gettext_lazy("escalation"),
    "gid": gettext_lazy("grant"),
    "at": gettext_lazy("time"),
    "bytes_sent": gettext_lazy("bytes sent"),
    "transcoded": gettext_lazy("transcoded"),
    "blurred": gettext_lazy("blurred picture"),
    "asked_reason": gettext_lazy("reason given"),
    "refused": gettext_lazy("refused"),
}

# Where a detail's key says which enum its value is from.
KEY_ENUMS: dict[str, type[TextChoices]] = {
    "cause": EscalationCause,
    "outcome": Outcome,
    "result": EscalationResult,
    "purpose": GrantPurpose,
    "method": ConsentMethod,
    "verdict": ReviewVerdict,
    "form": CheckForm,
}

# Keys that identify rather than describe: of no use to a reader of the log.
HIDDEN_KEYS = {"gid"}


def _enum_labels() -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for enum in ENUMS:
        for member in enum:
            labels.setdefault(member.value, member.label)
    return labels


def label(code: Any) -> str:
    """The words for a stored code; anything that is not a known code unchanged."""
    if code is None or code == "":
        return ""
    text = str(code)
    known = REASONS.get(text) or _enum_labels().get(text)
    if known is not None:
        return str(known)
    if problem_label(text) != text:
        return problem_label(text)
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PREFIXES:
        detail = rest.strip()
        return f"{PREFIXES[prefix]}: {label(detail)}" if detail else str(PREFIXES[prefix])
    if text.startswith("http_") and text[5:].isdigit():
        return _("The camera answered with error %(code)s") % {"code": text[5:]}
    return text


def _field_names() -> dict[str, Any]:
    """The changed fields an entry lists ("fields": ["stream_url", …]) by their labels."""
    return {
        field.name: getattr(field, "verbose_name", field.name)
        for model in (Person, Camera)
        for field in model._meta.fields
    }


def _value(value: Any, key: str = "") -> str:
    if key == "fields" and isinstance(value, list | tuple):
        names = _field_names()
        return ", ".join(str(names.get(item, item)) for item in value)
    enum = KEY_ENUMS.get(key)
    if enum is not None and isinstance(value, str) and value in enum.values:
        return str(enum(value).label)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return " → ".join(_value(item) for item in value) if value else "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{_key(key)}: {_value(item, key)}" for key, item in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return label(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(clock.STOCKHOLM)
        return date_format(moment, "Y-m-d H:i")
    return label(value)


def _key(key: str) -> str:
    return str(DETAIL_KEYS.get(key, key.replace("_", " ")))


def describe(detail: Any) -> str:
    """An audit entry's details as one readable line: "orsak: Inte synlig två gånger · …"."""
    if not detail:
        return ""
    if not isinstance(detail, Mapping):
        return _value(detail)
    parts = [
        f"{_key(key)}: {_value(value, key)}"
        for key, value in detail.items()
        if key not in HIDDEN_KEYS and value not in ("", None, [], {})
    ]
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


register.filter("code_label", label)
register.filter("audit_detail", describe)
