"""Types for type checking only."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """A request that passed ``login_required`` (and the second-factor middleware): its
    user is a logged-in User, so it can act (``actor=request.user``). Django hands views
    a plain HttpRequest; this only tells the type checker what the view may assume."""

    user: User
