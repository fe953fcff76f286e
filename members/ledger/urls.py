from django.urls import path

from members.ledger import attendance_views, views

app_name = "ledger"
urlpatterns = [
    path("me/standing/", views.my_standing, name="my-standing"),
    path("staff/exemption-requests/", views.exemption_requests, name="exemption-requests"),
    path(
        "staff/exemption-requests/<int:pk>/",
        views.exemption_request_answer_view,
        name="exemption-request-answer",
    ),
    path("staff/seasons/review/", views.season_review_current, name="season-review-current"),
    path("staff/seasons/<int:pk>/review/", views.season_review, name="season-review"),
    path(
        "staff/seasons/<int:pk>/review.csv",
        views.season_review_csv,
        name="season-review-csv",
    ),
    # Attendance from the meeting's participant list: upload, columns, preview and confirm.
    path(
        "sessions/<int:pk>/attendance/import/",
        attendance_views.attendance_import_start,
        name="attendance-import",
    ),
    path(
        "sessions/<int:pk>/attendance/import/<slug:token>/",
        attendance_views.attendance_import_preview,
        name="attendance-import-preview",
    ),
    path(
        "sessions/<int:pk>/attendance/import/<slug:token>/columns/",
        attendance_views.attendance_import_columns,
        name="attendance-import-columns",
    ),
]
