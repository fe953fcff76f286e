from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("profile/", views.profile_edit, name="profile"),
    path("profile/notifications/", views.notification_preferences, name="notifications"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
]
