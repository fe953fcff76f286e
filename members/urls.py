from django.urls import path

from members import committee, views

app_name = "members"
urlpatterns = [
    path("profile/notifications/", views.notification_preferences, name="notifications"),
    path("members/search/", views.members_search, name="search"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
    path("committee/", committee.committee_index, name="committee"),
    path("committee/<int:pk>/", committee.committee_application, name="committee-application"),
    path(
        "committee/<int:pk>/step-aside/",
        committee.committee_step_aside,
        name="committee-step-aside",
    ),
    path("committee/<int:pk>/feedback/", committee.committee_feedback, name="committee-feedback"),
    path("committee/<int:pk>/close/", committee.committee_close, name="committee-close"),
]
