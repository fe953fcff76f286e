from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("profile/notifications/", views.notification_preferences, name="notifications"),
    path("members/search/", views.members_search, name="search"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
]
