from django.urls import path

from sessions.weekly import feeds, views

app_name = "sessions"
urlpatterns = [
    path("", views.session_list, name="upcoming"),
    path("past/", views.session_past, name="past"),
    path("<int:pk>/", views.session_page, name="detail"),
    path("<int:pk>/rsvp/", views.session_rsvp, name="rsvp"),
    path("<int:pk>/check-in/", views.session_check_in, name="check-in"),
    path("<int:pk>/manage/", views.session_manage, name="manage"),
    path("schedule/", views.schedule_index, name="schedule-index"),
    path("schedule/<int:topic_pk>/", views.schedule_topic, name="schedule"),
    *feeds.urlpatterns,
]
