from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.admin_home, name="admin-home"),
    path("<int:tenant_id>/users/", views.tenant_users, name="users"),
    path("<int:tenant_id>/users/<int:user_id>/", views.user_roles, name="user-roles"),
]
