"""TOTP second factor (RFC 6238) and login throttling. No path in with a password alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.db import transaction

from accounts.models import LoginThrottle, TotpDevice
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.crypto import decrypt, encrypt

SESSION_KEY = "second_factor_at"
TOTP_STEP_S = 30


def device_for(user: Any) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user).first()


@transaction.atomic
def start_enrolment(user: Any) -> TotpDevice:
    """A new, unconfirmed secret; it counts only once the user proves they hold it."""
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        device = TotpDevice.objects.create(user=user, secret_encrypted=encrypt(pyotp.random_base32()))
    return device


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(decrypt(device.secret_encrypted)).provisioning_uri(
        name=device.user.get_username(), issuer_name=settings.TOTP_ISSUER
    )


def secret_of(device: TotpDevice) -> str:
    return decrypt(device.secret_encrypted)


@transaction.atomic
def verify_code(device: TotpDevice, code: str, *, ip: str | None) -> bool:
    """Accept a code from this or the neighbouring 30 s step, once (no replay)."""
    device = TotpDevice.objects.select_for_update().get(pk=device.pk)
    now = clock.now()
    totp = pyotp.TOTP(decrypt(device.secret_encrypted))
    code = code.strip().replace(" ", "")
    current_step = int(now.timestamp()) // TOTP_STEP_S
    accepted_step = next(
        (
            step
            for step in (current_step, current_step - 1, current_step + 1)
            if code.isdigit() and totp.at(step * TOTP_STEP_S) == code and step > device.last_used_step
        ),
        None,
    )
    if accepted_step is None:
        record(actor=device.user, action=AuditAction.SECOND_FACTOR_FAILED, ip=ip)
        return False
    device.last_used_step = accepted_step
    enrolled = device.confirmed_at is None
    if enrolled:
        device.confirmed_at = now
    device.save(update_fields=["last_used_step", "confirmed_at"])
    record(
        actor=device.user,
        action=AuditAction.SECOND_FACTOR_ENROLLED if enrolled else AuditAction.SECOND_FACTOR_VERIFIED,
        ip=ip,
    )
    return True


def locked_until(username: str, now: datetime) -> datetime | None:
    throttle = LoginThrottle.objects.filter(username=username.lower()).first()
    if throttle and throttle.locked_until and throttle.locked_until > now:
        return throttle.locked_until
    return None


@transaction.atomic
def register_failure(username: str, *, ip: str | None) -> None:
    throttle, _created = LoginThrottle.objects.select_for_update().get_or_create(username=username.lower()[:150])
    throttle.failures += 1
    if throttle.failures >= settings.LOGIN_LOCKOUT_FAILURES:
        throttle.locked_until = clock.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        throttle.failures = 0
        record(
            actor=None,
            action=AuditAction.LOGIN_LOCKED,
            ip=ip,
            detail={"username": username[:150], "until": throttle.locked_until.isoformat()},
        )
    throttle.save()


def reset_failures(username: str) -> None:
    LoginThrottle.objects.filter(username=username.lower()).update(failures=0, locked_until=None)
