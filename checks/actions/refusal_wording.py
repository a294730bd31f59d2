"""What a refused open or outcome says to the operator."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

REFUSAL_MESSAGES = {
    "not_a_camera_check": gettext_lazy("This check is a physical visit, not a camera check."),
    "retry_not_yet_due": gettext_lazy("The new attempt is not due yet."),
    "not_yet_due": gettext_lazy("The check is not due yet."),
    "check_not_open": gettext_lazy("The check is already closed."),
    "outside_check_window": gettext_lazy("The time window for this check has passed."),
    "no_valid_consent": gettext_lazy("There is no valid consent to camera supervision."),
    "no_valid_decision": gettext_lazy("There is no valid decision on night supervision."),
    "no_camera": gettext_lazy("No camera is assigned to the person."),
    "camera_not_tested": gettext_lazy("The camera's installation test has not been passed."),
    "no_co_resident_consent": gettext_lazy("Someone living in the home has not consented to camera supervision."),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, reason))


PICTURE_REFUSAL_MESSAGES = {
    "no_picture": gettext_lazy(
        "No picture has reached your screen in this view, so the person cannot be recorded as seen. "
        "Open the check again, or record a technical fault."
    ),
    "view_too_short": gettext_lazy(
        "Look at the picture for at least %(seconds)s seconds before recording the person as seen."
    ),
}
