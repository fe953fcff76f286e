from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from library import views as library_views
from members import views as member_views
from sessions.topics.api import topics_api
from sessions.weekly.api import sessions_api
from topicshare.api.v1 import api
from topicshare.core import views as core_views
from topicshare.core.api import superseded
from topicshare.forum import (
    account_views,
    dashboard,
    follow_views,
    onboarding_views,
    promotion_views,
    views,
    webhook_views,
)
from topicshare.notifications import views as notification_views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("me/", views.me, name="me"),
    path("profile/", views.profile, name="profile"),
    path("profile/api-tokens/", views.api_token_new, name="api-token-create"),
    path(
        "profile/api-tokens/<int:pk>/revoke/",
        views.api_token_revoke_view,
        name="api-token-revoke",
    ),
    path("profile/data/", account_views.data_export, name="data-export"),
    path("profile/delete/", account_views.account_delete, name="account-delete"),
    path(
        "profile/delete/<str:token>/",
        account_views.account_delete_confirm,
        name="account-delete-confirm",
    ),
    path("join/apply/", member_views.join_apply, name="join-apply"),
    path("join/status/", member_views.join_status, name="join-status"),
    path(
        "join/applications/<int:pk>/slides/",
        member_views.application_slides,
        name="application-slides",
    ),
    path("join/applications/<int:pk>/withdraw/", member_views.join_withdraw, name="join-withdraw"),
    path("healthz", core_views.healthz, name="healthz"),
    path("staff/dashboard/", dashboard.dashboard, name="dashboard"),
    path("staff/inbox/", views.staff_inbox, name="inbox"),
    path("me/follow/", follow_views.follow, name="follow"),
    path("staff/onboarding/", onboarding_views.onboarding, name="onboarding"),
    path("staff/onboarding/<int:pk>/", onboarding_views.onboarding_tick, name="onboarding-tick"),
    path("staff/webhooks/", webhook_views.webhooks, name="webhooks"),
    path("staff/webhooks/add/", webhook_views.webhook_add, name="webhook-add"),
    path("staff/webhooks/<int:pk>/", webhook_views.webhook_edit, name="webhook-edit"),
    path(
        "staff/webhooks/<int:pk>/<str:action>/",
        webhook_views.webhook_action,
        name="webhook-action",
    ),
    path("study-group/qr/", onboarding_views.study_group_qr, name="study-group-qr"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path(
        "notifications/unsubscribe/<str:token>/", notification_views.unsubscribe, name="unsubscribe"
    ),
    path("sessions/<int:pk>/poster.png", promotion_views.session_poster, name="session-poster"),
    path("sessions/<int:pk>/promote/", promotion_views.session_promote, name="session-promote"),
    path("sessions/<int:pk>/promote/draft/", promotion_views.session_draft, name="session-draft"),
    path("topics/<int:pk>/poster.png", promotion_views.topic_poster, name="topic-poster"),
    path("topics/<int:pk>/promote/", promotion_views.topic_promote, name="topic-promote"),
    path("topics/<int:pk>/promote/draft/", promotion_views.topic_draft, name="topic-draft"),
    path("wechat/jssdk-config/", promotion_views.wechat_jssdk_config, name="wechat-jssdk-config"),
    path("topics/", include("sessions.topics.urls")),
    path("sessions/", include("sessions.weekly.urls")),
    # The first API, kept for those who use it: the same answers, pointing at /api/v1/.
    path("api/topics/", superseded(topics_api, "/api/v1/topics/"), name="api-topics"),
    path("api/sessions/", superseded(sessions_api, "/api/v1/sessions/"), name="api-sessions"),
    path("api/v1/", api.urls),
    path("library/", include("library.urls")),
    path(
        "api/library/items/",
        superseded(library_views.items_api, "/api/v1/library/items/?top_level=true"),
        name="api-library-items",
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("members.urls")),
    path("", include("members.ledger.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG or settings.TOPICSHARE_SERVE_MEDIA:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

handler403 = "topicshare.forum.views.permission_denied"
handler404 = "topicshare.forum.views.page_not_found"
handler500 = "topicshare.forum.views.server_error"
