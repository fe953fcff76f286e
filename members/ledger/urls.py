from django.urls import path

from members.ledger import views

app_name = "ledger"
urlpatterns = [
    path("staff/seasons/review/", views.season_review_current, name="season-review-current"),
    path("staff/seasons/<int:pk>/review/", views.season_review, name="season-review"),
    path(
        "staff/seasons/<int:pk>/review.csv",
        views.season_review_csv,
        name="season-review-csv",
    ),
]
