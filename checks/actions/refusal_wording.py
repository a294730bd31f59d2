"""What a refused outcome says to the operator (a refused open: ``cameras.policy``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

PICTURE_REFUSAL_MESSAGES = {
    "no_picture": gettext_lazy(
        "No picture has reached your screen in this view, so the person cannot be recorded as seen. "
        "Open the check again, or record a technical fault."
    ),
    "view_too_short": gettext_lazy(
        "Look at the picture for at least %(seconds)s seconds before recording the person as seen."
    ),
}
