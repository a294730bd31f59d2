"""What ``people.actions`` announces, for the apps above people to act on.

people sits below checks and cameras and imports neither. A change here that has
consequences there (a consent withdrawn or a decision ended revokes grants and turns
camera checks into visits; an absence cancels checks) is sent as one of these signals,
inside the action's transaction and after its audit entry; ``checks.consequences`` is
the one place that receives them. A receiver that raises rolls the whole change back.
"""

from __future__ import annotations

from django.dispatch import Signal

# person, ended (bool: the decision now has an end date, so camera permission may have ended)
decision_changed = Signal()
# person
consent_withdrawn = Signal()
# absence, actor
absence_registered = Signal()
# person, reason: someone moved in, or a co-resident's consent was given or withdrawn
# (everyone at home must consent: people.rules.household_consent_stands)
household_changed = Signal()
