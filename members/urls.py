from django.urls import path

from members import ledger_views, views

app_name = "members"
urlpatterns = [
    path("profile/", views.profile_edit, name="profile"),
    path("profile/notifications/", views.notification_preferences, name="notifications"),
    path("members/search/", views.members_search, name="search"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
    path("staff/seasons/review/", ledger_views.season_review_current, name="season-review-current"),
    path("staff/seasons/<int:pk>/review/", ledger_views.season_review, name="season-review"),
    path(
        "staff/seasons/<int:pk>/review.csv",
        ledger_views.season_review_csv,
        name="season-review-csv",
    ),
]
