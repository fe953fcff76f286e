"""Demo data for `make run`: idempotent, so it can run on every start."""

import contextlib
import datetime
import io
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from members.models import AuditEvent, NewsDelivery, User
from members.roles import Role
from members.services import role_set
from sessions.models import (
    CHECKLIST,
    MeetingProvider,
    Season,
    Task,
    Topic,
    TopicStatus,
    Track,
)
from sessions.topics.services import (
    group_join,
    task_create,
    task_update,
    topic_propose,
    topic_transition,
    topic_update,
)
from sessions.weekly.scheduling import (
    attendance_record,
    free_slots,
    rsvp_set,
    session_schedule,
    sessions_advance,
)
from topicshare.forum.models import ForumSettings, GroupChange

DEMO_PASSWORD = "topicshare-demo"  # noqa: S105 — printed on purpose; demo only

DEMO_ACCOUNTS = [
    ("organiser@demo.topicshare.local", "组织者 Olivia", Role.ORGANISER),
    ("committee@demo.topicshare.local", "审核组 Chen", Role.COMMITTEE),
    ("member@demo.topicshare.local", "成员 Mei", Role.MEMBER),
    ("audience@demo.topicshare.local", "旁听 Ann", Role.AUDIENCE),
    # A member who RSVPs but does not come: the season review flags them.
    ("quiet@demo.topicshare.local", "潜水 Qiu", Role.MEMBER),
]
# The demo season began ten weeks ago; the demo accounts were admitted before it.
DEMO_SEASON_WEEKS = 10

DEMO_TRACKS = [
    # slug, zh, en, colour, weekday, time
    ("nlp", "自然语言处理", "Natural language processing", "#2563eb", 5, datetime.time(21, 30)),
    ("cv", "图像处理", "Computer vision", "#059669", 6, datetime.time(20, 30)),
    ("recsys", "推荐系统", "Recommender systems", "#d97706", 5, datetime.time(20, 30)),
]

JOIN_INSTRUCTIONS = (
    "1. 注册账号后即为旁听成员，可以查看日程、资料库并报名参加分享。\n"
    "2. 想加入内部学习群？向审核组分享一篇论文，审核组提问后投票决定。\n"
    "3. 每个赛季结束时统计参与度，长期不参与的成员会回到旁听群。"
)
STUDY_GROUP_STEPS = (
    "1. 加组织者 Olivia 的微信 topicshare-olivia，备注“TopicShare + 你的名字”。\n"
    "2. 她会在一两天内拉你进学习群；群里发每周的会议链接和通知。"
)
# WeChat IDs the study group checklist shows (/staff/onboarding/).
DEMO_WECHAT_IDS = {
    "member@demo.topicshare.local": "mei_reads_papers",
    "audience@demo.topicshare.local": "ann_listens",
}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    created: bool


@transaction.atomic
def demo_seed() -> list[DemoAccount]:
    forum = ForumSettings.load()
    if not forum.join_instructions:
        forum.join_instructions = JOIN_INSTRUCTIONS
        forum.save(update_fields=["join_instructions", "updated_at"])
    if not forum.study_group_steps:
        forum.study_group_steps = STUDY_GROUP_STEPS
        forum.save(update_fields=["study_group_steps", "updated_at"])
    if not forum.study_group_qr:
        forum.study_group_qr.save("demo.png", ContentFile(_demo_qr_png()))

    tracks = []
    for order, (slug, name_zh, name_en, colour, weekday, local_time) in enumerate(DEMO_TRACKS):
        track, _created = Track.objects.get_or_create(
            slug=slug,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "colour": colour,
                "weekday": weekday,
                "local_time": local_time,
                "order": order,
            },
        )
        tracks.append(track)

    accounts = []
    for index, (email, display_name, role) in enumerate(DEMO_ACCOUNTS):
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"display_name": display_name, "wechat_id": DEMO_WECHAT_IDS.get(email, "")},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.tracks_of_interest.set(tracks[index % len(tracks) :][:2])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        role_set(user=user, role=role)
        if created:
            # Admitted long ago, so the season review gives them no new-member grace.
            AuditEvent.objects.filter(
                subject_user=user, action=AuditEvent.Action.ROLE_CHANGED
            ).update(at=timezone.now() - datetime.timedelta(weeks=DEMO_SEASON_WEEKS + 20))
        accounts.append(DemoAccount(email=email, role=role, created=created))
    _demo_topics(tracks)
    _demo_engagement()
    accounts.append(_demo_application())
    _demo_group_changes()
    _demo_library()
    return accounts


DEMO_ARCHIVE = """### Topic 5

#### Topic 5 >> 自然语言处理

1. [XLNet: Generalized Autoregressive Pretraining for Language Understanding](https://arxiv.org/pdf/1906.08237.pdf)【玲玲】【[视频分享](https://pan.baidu.com/s/1DZemw2uvQEUGNnFy5XBqWw) 提取码：g1ky 】
2. [模型蒸馏](https://arxiv.org/pdf/1503.02531.pdf)【李威】【[视频分享](https://pan.baidu.com/s/1kT051jAqVHESAsaKzGL19w) runl 】
   1. [DistilBERT](https://arxiv.org/pdf/1910.01108.pdf)
   2. [TinyBert](https://arxiv.org/pdf/1909.10351.pdf)

#### Topic 5 >> 推荐系统

1. [Deep Interest Network for Click-Through Rate Prediction](https://arxiv.org/pdf/1706.06978.pdf)【阿泽】

### 初期

#### 初期 >> 自然语言处理 之 文本匹配

1. [Sentence-BERT](https://arxiv.org/pdf/1908.10084.pdf)【杨夕】【[论文](https://arxiv.org/abs/1908.10084)】
"""  # noqa: E501 — the archive's own line format


def _demo_library() -> None:
    """A small archive through the real importer (idempotent), and an open-source project."""
    from library.importers.detect import import_library
    from library.models import OpenSourceProject

    import_library(data=DEMO_ARCHIVE.encode(), name="demo-archive.md")
    OpenSourceProject.objects.get_or_create(
        url="https://github.com/km1994/nlp_paper_study",
        defaults={
            "name": "nlp_paper_study",
            "description": "研读顶会论文和复现经典论文过程中的所见、所思、所想、所闻。",
        },
    )


def _demo_qr_png() -> bytes:
    """A stand-in for the WeChat group's QR code (members see it on /me/)."""
    import segno

    buffer = io.BytesIO()
    segno.make("https://weixin.qq.com/g/topicshare-demo", error="m").save(
        buffer, kind="png", scale=6, border=2
    )
    return buffer.getvalue()


def _demo_engagement() -> None:
    """“想听” on the open proposals (the sheet sorts by it), and a full group with someone
    waiting for a place (idempotent: votes and places are one per person)."""
    from sessions.topics.services import TopicError, topic_interest_set, waitlist_join

    people = list(User.objects.filter(email__endswith="@demo.topicshare.local", is_active=True))
    wanted = Topic.objects.filter(status__in=[S.PROPOSED, S.ACCEPTED, S.RECRUITING]).order_by("pk")
    for rank, topic in enumerate(wanted):
        for person in people[: max(1, len(people) - rank)]:
            if person.pk != topic.proposer_id:
                with contextlib.suppress(TopicError):  # a co-presenter of it
                    topic_interest_set(topic=topic, user=person, want=True)
    member = User.objects.get(email=DEMO_ACCOUNTS[2][0])
    if member.followed_since is None:  # follows NLP, its news in the Monday digest
        member.tracks_of_interest.add(*Track.objects.order_by("order", "pk")[:1])
        member.news_delivery = NewsDelivery.WEEKLY
        member.followed_since = timezone.now()
        member.save(update_fields=["news_delivery", "followed_since"])
    full = Topic.objects.filter(status=S.PREPARING).order_by("pk").first()
    quiet = User.objects.filter(email="quiet@demo.topicshare.local").first()
    if full is not None and full.places_left > 0 and full.participant_count:
        organiser = User.objects.get(email=DEMO_ACCOUNTS[0][0])
        full = topic_update(topic=full, by=organiser, capacity=full.participant_count)
    if full is not None and quiet is not None and full.places_left == 0:
        with contextlib.suppress(TopicError):  # already in that group
            waitlist_join(topic=full, user=quiet)


def _demo_group_changes() -> None:
    """The study group checklist with something on it (once per person): Mei waits to be
    added, Ann (back in the audience) to be removed, Chen was added long ago."""
    organiser = User.objects.get(email=DEMO_ACCOUNTS[0][0])
    now = timezone.now()
    rows = [
        ("member@demo.topicshare.local", GroupChange.Change.ADD, "admission", 2, False),
        ("audience@demo.topicshare.local", GroupChange.Change.REMOVE, "season_removal", 1, False),
        ("committee@demo.topicshare.local", GroupChange.Change.ADD, "admission", 90, True),
    ]
    for email, change, reason, days_ago, done in rows:
        user = User.objects.get(email=email)
        if user.group_changes.exists():
            continue
        since = now - datetime.timedelta(days=days_ago)
        GroupChange.objects.create(
            user=user, change=change, reason=reason, created_at=since,
            done_at=since + datetime.timedelta(days=1) if done else None,
            done_by=organiser if done else None,
        )  # fmt: skip


def _demo_application() -> DemoAccount:
    """An applicant waiting for the committee, with one vote cast (idempotent by e-mail)."""
    from members.admission import application_schedule_review, application_submit, vote_cast
    from members.models import Application

    applicant, created = User.objects.get_or_create(
        email="applicant@demo.topicshare.local", defaults={"display_name": "申请者 Li"}
    )
    if created:
        applicant.set_password(DEMO_PASSWORD)
        applicant.save(update_fields=["password"])
        role_set(user=applicant, role=Role.AUDIENCE)
    EmailAddress.objects.update_or_create(
        user=applicant, email=applicant.email, defaults={"verified": True, "primary": True}
    )
    account = DemoAccount(email=applicant.email, role=Role.AUDIENCE, created=created)
    if Application.objects.filter(applicant=applicant).exists():
        return account
    application = application_submit(
        applicant=applicant,
        motivation="我在做文本匹配方向的项目，想加入学习群，和大家一起读论文、做分享。",
        paper_title="Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
        paper_url="https://arxiv.org/abs/1908.10084",
        preferred_dates="工作日晚上 20:00 以后",
    )
    committee = User.objects.get(email=DEMO_ACCOUNTS[1][0])
    application_schedule_review(
        application=application,
        by=committee,
        review_at=timezone.now() + datetime.timedelta(days=3),
        meeting_url="https://meeting.tencent.com/dm/review-demo",
    )
    vote_cast(application=application, voter=committee, choice="approve", comment="讲得清楚")
    return account


S = TopicStatus
# title, track slug, sub-theme, the statuses it walks through after "proposed", paper
DEMO_TOPICS = [
    ("Sentence-BERT 与文本匹配", "nlp", "文本匹配", [], "https://arxiv.org/abs/1908.10084"),
    ("ViT：图像也是 16x16 的词", "cv", "", [S.ACCEPTED], "https://arxiv.org/abs/2010.11929"),
    ("LightGCN 图推荐", "recsys", "", [S.ACCEPTED, S.RECRUITING], "https://arxiv.org/abs/2002.02126"),
    ("DETR 端到端目标检测", "cv", "目标检测", [S.ACCEPTED, S.RECRUITING, S.PREPARING],
     "https://arxiv.org/abs/2005.12872"),
    ("RoBERTa 预训练细节", "nlp", "预训练", [S.ACCEPTED, S.RECRUITING, S.PREPARING, S.READY],
     "https://arxiv.org/abs/1907.11692"),
    ("DIN 用户兴趣建模", "recsys", "CTR 预估",
     [S.ACCEPTED, S.RECRUITING, S.PREPARING, S.READY, S.SCHEDULED], "https://arxiv.org/abs/1706.06978"),
    ("Transformer 原理精读", "nlp", "", [S.ACCEPTED, S.RECRUITING, S.PREPARING, S.READY,
     S.SCHEDULED, S.PRESENTED], "https://arxiv.org/abs/1706.03762"),
    ("一篇重复的提案", "cv", "", [S.REJECTED], "https://arxiv.org/abs/1512.03385"),
    ("暂时没空准备", "nlp", "", [S.WITHDRAWN], "https://arxiv.org/abs/1810.04805"),
    ("GNN 综述（取消）", "recsys", "", [S.ACCEPTED, S.CANCELLED], "https://arxiv.org/abs/1901.00596"),
]  # fmt: skip


def _demo_topics(tracks: list[Track]) -> None:
    """Topics in every state, walked through the real services (idempotent by title)."""
    season, _created = Season.objects.get_or_create(
        label="Topic 7",
        defaults={
            "order": 7,
            "is_current": True,
            "start_date": timezone.localdate() - datetime.timedelta(weeks=DEMO_SEASON_WEEKS),
        },
    )
    Season.objects.get_or_create(label="初期", defaults={"order": 0})
    by_slug = {track.slug: track for track in tracks}
    organiser = User.objects.get(email=DEMO_ACCOUNTS[0][0])
    member = User.objects.get(email=DEMO_ACCOUNTS[2][0])
    audience = User.objects.get(email=DEMO_ACCOUNTS[3][0])
    committee = User.objects.get(email=DEMO_ACCOUNTS[1][0])
    for index, (title, slug, sub_theme, steps, paper) in enumerate(DEMO_TOPICS):
        if Topic.objects.filter(title=title).exists():
            continue
        proposer = member if index % 2 else committee
        topic = topic_propose(
            proposer=proposer,
            track=by_slug[slug],
            title=title,
            sub_theme=sub_theme,
            summary=f"## 动机\n\n为什么值得读：{title}。\n\n## 模型\n\n- 结构\n- 损失函数",
            paper_links=[paper],
            season=season,
            capacity=4,
        )
        for step in steps:
            if step == S.READY:
                for field, _label in CHECKLIST:
                    setattr(topic, field, True)
                topic.save(update_fields=[field for field, _label in CHECKLIST])
            if step == S.PREPARING and topic.status == S.RECRUITING:
                group_join(topic=topic, user=audience)
                task_create(topic=topic, by=proposer, title="复现模型代码", assignee=audience)
                survey = task_create(
                    topic=topic, by=proposer, title="整理业界方案调研", assignee=proposer
                )
                task_update(task=survey, by=proposer, status=Task.Status.DONE)
            if step == S.SCHEDULED:
                _demo_session(topic, organiser, audience, past=S.PRESENTED in steps)
                topic.refresh_from_db()
                continue
            if step == S.PRESENTED:
                continue  # sessions_advance below marks it, as beat does
            by = proposer if step in {S.WITHDRAWN, S.READY} else organiser
            reason = "与已有 Topic 重复" if step in {S.REJECTED, S.CANCELLED} else ""
            topic = topic_transition(topic=topic, to=step, by=by, reason=reason, internal=True)
        if topic.status == S.RECRUITING:
            group_join(topic=topic, user=audience)
    sessions_advance(now=timezone.now())


def _demo_session(topic: Topic, organiser: User, audience: User, *, past: bool) -> None:
    """Schedule through the real service; a past session is scheduled "three weeks ago"."""
    now = timezone.now()
    if past:
        now -= datetime.timedelta(weeks=4)
    start = free_slots(track=topic.track, now=now)[0 if past else 2]
    session = session_schedule(
        topic=topic,
        start=start,
        by=organiser,
        now=now,
        meeting_provider=MeetingProvider.TENCENT,
        meeting_url="https://meeting.tencent.com/dm/demo",
        meeting_id="123 456 789",
    )
    rsvp_set(session=session, user=audience, going=True, now=now)
    quiet = User.objects.get(email="quiet@demo.topicshare.local")
    rsvp_set(session=session, user=quiet, going=True, now=now)  # and never comes
    if past:
        attendance_record(session=session, users=[audience], by=organiser)
    else:  # the presenter's own deadlines, tied to the session: they move with it
        topic.refresh_from_db()
        for title, days in (("提纲", 7), ("幻灯片", 3), ("试讲", 1)):
            task_create(
                topic=topic, by=organiser, title=title, assignee=topic.proposer,
                due_before_session=days,
            )  # fmt: skip
