from django.http import HttpRequest

from accounts.access import roles_for


def memberships(request: HttpRequest) -> dict[str, object]:
    return {"user_roles": roles_for(request.user) if hasattr(request, "user") else set()}
