"""A covered or moved camera is a message from the person, not a fault to retry.

The rule, in one place:

1. A finding counts when the person could have caused it, and a network outage could
   not: the camera and its stream answer, but the picture is black or frozen (covered,
   a cloth or a hand over the lens), or the camera answers but does not reach its
   privacy position (held or turned by hand). A camera that does not answer at all is
   what a broken router or 4G link also gives, so it stays a technical fault; staff who
   find it taken down say so (``ConcernKind.REPORTED``).
2. Only a confirmed fault counts (two failed probes in a row, as for the escalation:
   ``checks.actions.PROBE_FAILURES_FOR_FAULT``).
3. While a concern is open the camera is not used for the person: the one privacy
   rule (``cameras.policy.camera_allowed_for_person``) asks ``camera_concern_refusal``,
   so planning, due time, opening and the gateway's redeem all make visits of camera
   checks. Only the case officer's recorded talk with the person ends it
   (``checks.covered_actions.resolve_camera_concern``).
"""

from __future__ import annotations

from typing import Any

from checks.models import CameraConcern

# The machine reason when an open concern stops the camera (nattillsyn.codes has its words).
CAMERA_COVERED = "camera_covered"


def camera_concern_refusal(person: Any) -> str | None:
    """``camera_covered`` while the person has an open concern, else None.

    ``person`` is a Person or the planner's facts about one; facts that carry
    ``camera_concern_open`` are read, facts without it forecast no concern (settle_form
    at due time, every open and every redeem ask again with the Person itself)."""
    known = getattr(person, "camera_concern_open", None)
    if known is None:
        if not hasattr(person, "_meta"):
            return None
        known = CameraConcern.objects.filter(person_id=person.pk, resolved_at__isnull=True).exists()
    return CAMERA_COVERED if known else None


def persons_with_open_concern(person_ids: Any) -> set[int]:
    """Of ``person_ids`` (ids or a subquery), those with an open concern: one query, for
    the planner's set-based facts."""
    return set(
        CameraConcern.objects.filter(person__in=person_ids, resolved_at__isnull=True)
        .order_by()
        .values_list("person_id", flat=True)
    )
