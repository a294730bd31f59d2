"""Every change to agreements, checks, escalations and alarms goes through here.

The worker's steps (``checks.engine``) and the views both call these functions; each
writes its audit entry in the same transaction as the change. One module a concern:

- ``agreements``: the agreed times, forms and escalation plan;
- ``planning`` (with ``planning_facts`` and ``persistence``): a night's checks, set-based;
- ``transitions``: the one table of allowed check states, asked by every change of state;
- ``operator_check`` (with ``refusal_wording``): open, hold, record an outcome;
- ``escalations``: the night patrol's escalations and the shift lead's alarms;
- ``person_changes``: checks moved by consent, decision or absence;
- ``worker_steps`` and ``preparation``: what the worker does to one claimed row.

The names below stay importable from ``checks.actions`` for callers written before the split.
"""

from checks.actions.agreements import save_agreement
from checks.actions.escalations import (
    acknowledge_alarm,
    acknowledge_escalation,
    escalate,
    escalation_plan,
    raise_alarm,
    resolve_escalation,
)
from checks.actions.operator_check import (
    AFTER_VIEW_HOLD,
    NOT_VISIBLE_BEFORE_ESCALATION,
    OUTCOMES_NEEDING_PICTURE,
    UNSTARTED_HOLD,
    attempt_held_until,
    current_attempt,
    open_check,
    operator_name,
    picture_refusal,
    record_outcome,
)
from checks.actions.person_changes import cancel_checks_during_absence, switch_open_camera_checks_to_physical
from checks.actions.planning import plan_night
from checks.actions.preparation import (
    CONSOLE_PRESENT,
    PREPARATION_LEASE,
    PREPARATION_RENEW_BEFORE,
    checks_to_prepare,
    end_preparations,
    note_console_open,
    preparations_no_longer_wanted,
    prepare_check,
)
from checks.actions.refusal_wording import PICTURE_REFUSAL_MESSAGES
from checks.actions.worker_steps import (
    PROBE_FAILURES_FOR_FAULT,
    escalate_missed,
    make_due,
    make_retry_due,
    raise_overdue_alarm,
    raise_unacknowledged_alarm,
    record_camera_probe,
    release_abandoned_attempt,
    settle_form,
)

__all__ = [
    "AFTER_VIEW_HOLD",
    "CONSOLE_PRESENT",
    "NOT_VISIBLE_BEFORE_ESCALATION",
    "OUTCOMES_NEEDING_PICTURE",
    "PICTURE_REFUSAL_MESSAGES",
    "PREPARATION_LEASE",
    "PREPARATION_RENEW_BEFORE",
    "PROBE_FAILURES_FOR_FAULT",
    "UNSTARTED_HOLD",
    "acknowledge_alarm",
    "acknowledge_escalation",
    "attempt_held_until",
    "cancel_checks_during_absence",
    "checks_to_prepare",
    "current_attempt",
    "end_preparations",
    "escalate",
    "escalate_missed",
    "escalation_plan",
    "make_due",
    "make_retry_due",
    "note_console_open",
    "open_check",
    "operator_name",
    "picture_refusal",
    "plan_night",
    "prepare_check",
    "preparations_no_longer_wanted",
    "raise_alarm",
    "raise_overdue_alarm",
    "raise_unacknowledged_alarm",
    "record_camera_probe",
    "record_outcome",
    "release_abandoned_attempt",
    "resolve_escalation",
    "save_agreement",
    "settle_form",
    "switch_open_camera_checks_to_physical",
]
