from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from sessions.models import SessionStatus, WeeklySession
from topicshare.forum.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load idempotent demo data: one account per role, tracks, forum settings."

    def handle(self, *args, **options):
        if not settings.TOPICSHARE_DEMO_ALLOWED:
            raise CommandError(
                "seed_demo refuses to run under production settings: it creates accounts "
                "with a published password."
            )
        accounts = demo_seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        for account in accounts:
            state = "created" if account.created else "exists"
            self.stdout.write(
                f"  {account.role.value:<10} {account.email:<36} {DEMO_PASSWORD}  ({state})"
            )
        upcoming = (
            WeeklySession.objects.filter(status=SessionStatus.SCHEDULED, start__gt=timezone.now())
            .order_by("start")
            .first()
        )
        if upcoming is not None:
            pack = reverse("session-promote", args=[upcoming.pk])
            self.stdout.write(
                f"The next session's promotion pack (poster, group text, article), for organisers:"
                f" http://127.0.0.1:8000{pack}"
            )
