"""Every login, failed login and logout goes to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.second_factor import register_failure, reset_failures
from audit.models import AuditAction
from audit.records import record
from nattillsyn import clock
from nattillsyn.net import client_ip


def _client_ip(request: Any) -> str | None:
    return client_ip(request) if request is not None else None


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # A login through an identity provider says which, and how the user logged in there.
    detail = getattr(request, "login_detail", None)
    record(actor=user, action=AuditAction.LOGIN, ip=_client_ip(request), detail=detail)
    reset_failures(user.get_username())
    if request is not None and hasattr(request, "session"):
        now = clock.now().timestamp()
        request.session["login_at"] = now
        request.session["last_seen"] = now


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(actor=user, action=AuditAction.LOGOUT, ip=_client_ip(request))


@receiver(user_login_failed)
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Never the password: only the name that was tried.
    username = str(credentials.get("username", ""))[:150]
    record(actor=None, action=AuditAction.LOGIN_FAILED, ip=_client_ip(request), detail={"username": username})
    register_failure(username, ip=_client_ip(request))
