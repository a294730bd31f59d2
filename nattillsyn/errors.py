"""Errors every app may raise, at the bottom of the dependency order (no Django model, no app).

An app that refuses a change raises ``ActionRefused``; the view shows its message. Kept
here, not in one of the apps, so no app depends on another just for an error class.
"""

from __future__ import annotations


class ActionRefused(Exception):
    """A change that the rules do not allow; the message is shown to the user."""
