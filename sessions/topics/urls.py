from django.urls import path

from sessions.topics import views

app_name = "topics"
urlpatterns = [
    path("", views.topic_sheet, name="sheet"),
    path("export.csv", views.topic_export, name="export"),
    path("new/", views.topic_new, name="new"),
    path("<int:pk>/", views.topic_detail, name="detail"),
    path("<int:pk>/edit/", views.topic_edit, name="edit"),
    path("<int:pk>/transition/", views.topic_transition_view, name="transition"),
    path("<int:pk>/interest/", views.topic_interest_view, name="interest"),
    path("<int:pk>/join/", views.group_join_view, name="join"),
    path("<int:pk>/leave/", views.group_leave_view, name="leave"),
    path("<int:pk>/waitlist/", views.waitlist_join_view, name="waitlist-join"),
    path("<int:pk>/waitlist/leave/", views.waitlist_leave_view, name="waitlist-leave"),
    path("<int:pk>/group/", views.topic_group, name="group"),
    path("<int:pk>/group/qr/", views.topic_group_qr, name="group-qr"),
    path("<int:pk>/tasks/<int:task_pk>/", views.task_move, name="task-move"),
    path("<int:pk>/tasks/<int:task_pk>/claim/", views.task_claim_view, name="task-claim"),
    path("<int:pk>/tasks/<int:task_pk>/finish/", views.task_finish_view, name="task-finish"),
    path("invitations/<int:pk>/", views.invitation_answer_view, name="invitation"),
]
