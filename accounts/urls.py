from django.urls import path

from accounts import session_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.admin_home, name="admin-home"),
    path("<int:tenant_id>/users/", views.tenant_users, name="users"),
    path("<int:tenant_id>/users/<int:user_id>/", views.user_roles, name="user-roles"),
    path("<int:tenant_id>/users/<int:user_id>/end-sessions", session_views.end_user_sessions, name="user-end-sessions"),
]
