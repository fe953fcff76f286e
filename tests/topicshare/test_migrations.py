"""The models that moved between apps (issue 14) keep their tables and their rows; their content
types (and so the permissions and groups attached to them) are renamed, not orphaned; the data
migrations that came with the move (calendar files for queued reminders, a track's list of
chats) fill the new fields; and the whole move can be migrated back.

Data is loaded into the old schema through the old historical models, then the project is
migrated to its leaves and read back through the new ones (django-test-migrations)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db(transaction=True)

# Every app's leaf before the move: the moved models still live in topicshare and members.
BEFORE = [
    ("topicshare", "0008_co_presenter_invited_kind"),
    ("members", "0008_text_limits_and_name_characters"),
    ("topic_sessions", "0009_text_limits_and_summary_html"),
    ("library", "0008_text_limits_and_summary_html"),
    ("notifications", None),
    ("forum", None),
    ("ledger", None),
]

# old (app, model) -> new app label
MOVED = {
    ("topicshare", "notification"): "notifications",
    ("topicshare", "notificationoptout"): "notifications",
    ("topicshare", "chatwebhook"): "notifications",
    ("topicshare", "forumsettings"): "forum",
    ("topicshare", "reminderrule"): "topic_sessions",
    ("topicshare", "remindermark"): "topic_sessions",
    ("members", "ledgerpolicy"): "ledger",
    ("members", "ledgerexemption"): "ledger",
}

START = datetime.datetime(2026, 12, 12, 12, 30, tzinfo=datetime.UTC)


def leaves():
    return MigrationLoader(connection).graph.leaf_nodes()


def before_the_move():
    """BEFORE, plus the leaves of the apps the move does not touch (auth, allauth …)."""
    touched = {app for app, _ in BEFORE}
    return BEFORE + [(app, name) for app, name in leaves() if app not in touched]


def applied_migrations():
    recorded = MigrationRecorder(connection).applied_migrations()
    return {key for key, migration in recorded.items()}


def load_old_data(apps):
    """Rows of every moved model, written through the models as they were before the move."""
    User = apps.get_model("members", "User")
    Track = apps.get_model("topic_sessions", "Track")
    Season = apps.get_model("topic_sessions", "Season")
    Topic = apps.get_model("topic_sessions", "Topic")
    WeeklySession = apps.get_model("topic_sessions", "WeeklySession")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    ChatWebhook = apps.get_model("topicshare", "ChatWebhook")
    Notification = apps.get_model("topicshare", "Notification")
    NotificationOptOut = apps.get_model("topicshare", "NotificationOptOut")
    ForumSettings = apps.get_model("topicshare", "ForumSettings")
    ReminderRule = apps.get_model("topicshare", "ReminderRule")
    ReminderMark = apps.get_model("topicshare", "ReminderMark")
    LedgerPolicy = apps.get_model("members", "LedgerPolicy")
    LedgerExemption = apps.get_model("members", "LedgerExemption")

    # The migrator mutes post_migrate, so the content types a real database has are made here.
    types = {
        (app, model): ContentType.objects.create(app_label=app, model=model)
        for app, model in [*MOVED, ("topic_sessions", "weeklysession")]
    }

    user = User.objects.create(email="ada@example.org", password="!")
    organiser = User.objects.create(email="org@example.org", password="!")
    track = Track.objects.get(slug="general")  # made by topic_sessions 0003
    other_track = Track.objects.create(
        slug="systems", name_zh="系统", name_en="Systems", order=5, colour="#123456"
    )
    season = Season.objects.create(label="2026 autumn")
    topic = Topic.objects.create(title="Attention is all you need", proposer=user, track=track)
    session = WeeklySession.objects.create(start=START, topic=topic, track=track)

    chat = ChatWebhook.objects.create(
        name="Study group", provider="feishu", url="https://open.feishu.cn/hook/x", track=track
    )
    forum_wide_chat = ChatWebhook.objects.create(
        name="Everyone",
        provider="generic",
        url="https://chat.example.org/hook",
        audience="audience",
    )
    reminder = dict(
        kind="day_before",
        subject_type=types[("topic_sessions", "weeklysession")],
        subject_id=session.pk,
        occasion=START.isoformat(),
        title="Tomorrow: Attention is all you need",
        body_text="See you tomorrow.",
        due_at=START - datetime.timedelta(days=1),
        next_attempt_at=START - datetime.timedelta(days=1),
        attach_ics=True,
    )
    pending = Notification.objects.create(recipient=user, **reminder)
    already_sent = Notification.objects.create(
        recipient=organiser, status="sent", sent_at=START - datetime.timedelta(days=1), **reminder
    )
    to_chat = Notification.objects.create(
        channel=chat, **{**reminder, "attach_ics": False, "title": "To the chat"}
    )
    opt_out = NotificationOptOut.objects.create(user=user, kind="promotion")
    ForumSettings.objects.create(pk=1, forum_name="Paper Club", slogan="每周六见")
    rule = ReminderRule.objects.get(kind="day_before")  # made by topicshare 0003
    rule.offset = datetime.timedelta(hours=-20)
    rule.to_members = True
    rule.save()
    mark = ReminderMark.objects.create(
        kind="day_before",
        subject_type=types[("topic_sessions", "weeklysession")],
        subject_id=session.pk,
        occasion=START.isoformat(),
    )
    LedgerPolicy.objects.create(pk=1, min_attendance_percent=55, task_protects=False)
    exemption = LedgerExemption.objects.create(
        user=user, season=season, by=organiser, reason="Abroad this season"
    )

    permission = Permission.objects.create(
        content_type=types[("topicshare", "forumsettings")],
        codename="change_forumsettings",
        name="Can change forum settings",
    )
    ledger_permission = Permission.objects.create(
        content_type=types[("members", "ledgerexemption")],
        codename="add_ledgerexemption",
        name="Can add season review exemption",
    )
    editors = Group.objects.create(name="Forum editors")
    editors.permissions.add(permission, ledger_permission)
    organiser.user_permissions.add(permission)

    return {
        "user": user.pk,
        "organiser": organiser.pk,
        "track": track.pk,
        "other_track": other_track.pk,
        "season": season.pk,
        "session": session.pk,
        "chat": chat.pk,
        "forum_wide_chat": forum_wide_chat.pk,
        "pending": pending.pk,
        "already_sent": already_sent.pk,
        "to_chat": to_chat.pk,
        "opt_out": opt_out.pk,
        "rule": rule.pk,
        "mark": mark.pk,
        "exemption": exemption.pk,
        "permission": permission.pk,
        "ledger_permission": ledger_permission.pk,
        "group": editors.pk,
        "types": {key: ct.pk for key, ct in types.items()},
    }


def check_moved_data(apps, ids):
    """The rows are read back through the moved models (same primary keys, same values)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("members", "User")
    Track = apps.get_model("topic_sessions", "Track")
    ChatWebhook = apps.get_model("notifications", "ChatWebhook")
    Notification = apps.get_model("notifications", "Notification")
    NotificationOptOut = apps.get_model("notifications", "NotificationOptOut")
    ForumSettings = apps.get_model("forum", "ForumSettings")
    ReminderRule = apps.get_model("topic_sessions", "ReminderRule")
    ReminderMark = apps.get_model("topic_sessions", "ReminderMark")
    LedgerPolicy = apps.get_model("ledger", "LedgerPolicy")
    LedgerExemption = apps.get_model("ledger", "LedgerExemption")

    # Content types: renamed in place (same pk), none left behind under the old label.
    for (old_app, model), new_app in MOVED.items():
        content_type = ContentType.objects.get(pk=ids["types"][(old_app, model)])
        assert (content_type.app_label, content_type.model) == (new_app, model)
    assert not ContentType.objects.filter(
        app_label="topicshare", model__in=[m for (a, m) in MOVED if a == "topicshare"]
    ).exists()
    assert not ContentType.objects.filter(
        app_label="members", model__in=["ledgerpolicy", "ledgerexemption"]
    ).exists()
    weekly = ContentType.objects.get(pk=ids["types"][("topic_sessions", "weeklysession")])
    assert (weekly.app_label, weekly.model) == ("topic_sessions", "weeklysession")

    # Permissions follow their content type; the group and the user still hold them.
    permission = Permission.objects.get(pk=ids["permission"])
    assert (permission.content_type.app_label, permission.codename) == (
        "forum",
        "change_forumsettings",
    )
    ledger_permission = Permission.objects.get(pk=ids["ledger_permission"])
    assert ledger_permission.content_type.app_label == "ledger"
    group = Group.objects.get(pk=ids["group"])
    assert set(group.permissions.values_list("pk", flat=True)) == {
        ids["permission"],
        ids["ledger_permission"],
    }
    organiser = User.objects.get(pk=ids["organiser"])
    assert list(organiser.user_permissions.values_list("pk", flat=True)) == [ids["permission"]]

    # Chat webhooks: the track's list of chats replaces the chat's track.
    chat = ChatWebhook.objects.get(pk=ids["chat"])
    assert (chat.name, chat.provider, chat.url, chat.audience, chat.enabled) == (
        "Study group",
        "feishu",
        "https://open.feishu.cn/hook/x",
        "study",
        True,
    )
    assert not hasattr(chat, "track_id")
    track = Track.objects.get(pk=ids["track"])
    assert list(track.chat_webhooks.values_list("pk", flat=True)) == [ids["chat"]]
    assert not Track.objects.get(pk=ids["other_track"]).chat_webhooks.exists()
    forum_wide = ChatWebhook.objects.get(pk=ids["forum_wide_chat"])
    assert (forum_wide.name, forum_wide.audience) == ("Everyone", "audience")
    assert not forum_wide.tracks.exists()

    # Notifications: the unsent reminder that asked for a calendar file has it now.
    assert Notification.objects.count() == 3
    pending = Notification.objects.get(pk=ids["pending"])
    assert (pending.kind, pending.status, pending.recipient_id, pending.channel_id) == (
        "day_before",
        "pending",
        ids["user"],
        None,
    )
    assert (pending.subject_type_id, pending.subject_id) == (
        ids["types"][("topic_sessions", "weeklysession")],
        ids["session"],
    )
    assert pending.title == "Tomorrow: Attention is all you need"
    assert pending.due_at == START - datetime.timedelta(days=1)
    assert not hasattr(pending, "attach_ics")
    [attachment] = pending.attachments
    assert attachment["filename"] == "topicshare.ics"
    assert attachment["mimetype"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in attachment["content"]
    assert "Attention is all you need" in attachment["content"]
    assert "DTSTART" in attachment["content"]
    # Sent rows and rows that never asked for a calendar are left as they were.
    already_sent = Notification.objects.get(pk=ids["already_sent"])
    assert (already_sent.status, already_sent.recipient_id) == ("sent", ids["organiser"])
    assert already_sent.attachments == []
    to_chat = Notification.objects.get(pk=ids["to_chat"])
    assert (to_chat.channel_id, to_chat.recipient_id, to_chat.title) == (
        ids["chat"],
        None,
        "To the chat",
    )
    assert to_chat.attachments == []
    assert list(User.objects.get(pk=ids["user"]).notifications.values_list("pk", flat=True)) == [
        ids["pending"]
    ]

    opt_out = NotificationOptOut.objects.get(pk=ids["opt_out"])
    assert (opt_out.user_id, opt_out.kind) == (ids["user"], "promotion")

    forum = ForumSettings.objects.get(pk=1)
    assert (forum.forum_name, forum.slogan) == ("Paper Club", "每周六见")

    rule = ReminderRule.objects.get(pk=ids["rule"])
    assert (rule.kind, rule.offset, rule.to_members) == (
        "day_before",
        datetime.timedelta(hours=-20),
        True,
    )
    assert ReminderRule.objects.count() > 1  # the other default rules are still there
    mark = ReminderMark.objects.get(pk=ids["mark"])
    assert (mark.kind, mark.subject_id, mark.occasion) == (
        "day_before",
        ids["session"],
        START.isoformat(),
    )
    assert mark.subject_type_id == ids["types"][("topic_sessions", "weeklysession")]

    policy = LedgerPolicy.objects.get(pk=1)
    assert (policy.min_attendance_percent, policy.task_protects, policy.presenting_protects) == (
        55,
        False,
        True,
    )
    exemption = LedgerExemption.objects.get(pk=ids["exemption"])
    assert (exemption.user_id, exemption.season_id, exemption.by_id, exemption.reason) == (
        ids["user"],
        ids["season"],
        ids["organiser"],
        "Abroad this season",
    )


def check_old_data(apps, ids):
    """After migrating back, the rows are where the old models look for them again."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    ChatWebhook = apps.get_model("topicshare", "ChatWebhook")
    Notification = apps.get_model("topicshare", "Notification")

    for old_app, model in MOVED:
        content_type = ContentType.objects.get(pk=ids["types"][(old_app, model)])
        assert (content_type.app_label, content_type.model) == (old_app, model)
    group = Group.objects.get(pk=ids["group"])
    assert {p.content_type.app_label for p in group.permissions.all()} == {
        "topicshare",
        "members",
    }
    assert ChatWebhook.objects.get(pk=ids["chat"]).track_id == ids["track"]
    assert ChatWebhook.objects.get(pk=ids["forum_wide_chat"]).track_id is None
    assert Notification.objects.count() == 3
    pending = Notification.objects.get(pk=ids["pending"])
    assert (pending.recipient_id, pending.status) == (ids["user"], "pending")
    # Still unsent: the old outbox builds its calendar file again (attach_ics restored) …
    assert pending.attach_ics is True
    # … and rows that carried none do not suddenly get one.
    assert Notification.objects.get(pk=ids["to_chat"]).attach_ics is False
    assert apps.get_model("topicshare", "NotificationOptOut").objects.get(pk=ids["opt_out"])
    assert apps.get_model("topicshare", "ForumSettings").objects.get(pk=1).forum_name == (
        "Paper Club"
    )
    rule = apps.get_model("topicshare", "ReminderRule").objects.get(pk=ids["rule"])
    assert rule.offset == datetime.timedelta(hours=-20)
    assert apps.get_model("topicshare", "ReminderMark").objects.get(pk=ids["mark"])
    assert apps.get_model("members", "LedgerPolicy").objects.get(pk=1).min_attendance_percent == 55
    exemption = apps.get_model("members", "LedgerExemption").objects.get(pk=ids["exemption"])
    assert exemption.reason == "Abroad this season"


def test_moved_models_keep_their_rows_content_types_and_permissions(migrator):
    # The migrator's first step applies a prefix of the full plan (which may run past a
    # target in another app), so start from an early node and migrate to exactly BEFORE.
    migrator.apply_initial_migration(("contenttypes", "0001_initial"))
    old_state = migrator.apply_tested_migration(before_the_move())
    assert ("members", "0008_text_limits_and_name_characters") in applied_migrations()
    assert not {("members", "0009_ledger_to_its_app"), ("notifications", "0001_initial")} & (
        applied_migrations()
    )
    ids = load_old_data(old_state.apps)

    new_state = migrator.apply_tested_migration(leaves())
    check_moved_data(new_state.apps, ids)

    back_state = migrator.apply_tested_migration(before_the_move())
    check_old_data(back_state.apps, ids)
