import factory
from allauth.account.models import EmailAddress

from members.models import User
from members.roles import Role
from members.services import role_set
from sessions.models import Participation, Topic, Track

PASSWORD = "correct-horse-battery-42"


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"track-{n}")
    name_zh = factory.Sequence(lambda n: f"方向{n}")
    name_en = factory.Sequence(lambda n: f"Track {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.save()
            role_set(user=self, role=extracted or Role.AUDIENCE)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )


class TopicFactory(factory.django.DjangoModelFactory):
    """A topic straight in the database; tests of the lifecycle use the services instead."""

    class Meta:
        model = Topic
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Topic {n}: attention is all you need")
    track = factory.SubFactory(TrackFactory)
    proposer = factory.SubFactory(UserFactory)
    summary = "**Why** it matters."
    paper_links = factory.LazyFunction(lambda: ["https://arxiv.org/abs/1706.03762"])

    @factory.post_generation
    def with_proposer_participation(self, create, extracted, **kwargs):
        if create:
            Participation.objects.create(
                topic=self, user=self.proposer, role=Participation.Role.PROPOSER
            )
