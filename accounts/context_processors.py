from django.http import HttpRequest

from accounts.access import roles_for
from accounts.second_factor import SESSION_KEY


def memberships(request: HttpRequest) -> dict[str, object]:
    # Until the second factor is done the header shows no menu: the pages behind it
    # would only send the user back to the code.
    if not hasattr(request, "user"):
        return {"user_roles": set(), "fully_logged_in": False}
    logged_in = bool(request.user.is_authenticated and request.session.get(SESSION_KEY))
    return {"user_roles": roles_for(request.user) if logged_in else set(), "fully_logged_in": logged_in}
