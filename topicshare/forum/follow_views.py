"""What I follow (tracks and tags) and how its news reaches me (topicshare/forum/digest.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from library.models import Tag
from members.models import NewsDelivery
from sessions.models import Track

MAX_TAGS = 30


class FollowForm(forms.Form):
    tracks = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Tracks"),
        queryset=Track.objects.order_by("order", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Library tags"),
        queryset=Tag.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=gettext_lazy("Hold Ctrl (⌘ on a Mac) to choose several; at most 30."),
    )
    delivery = forms.ChoiceField(
        label=gettext_lazy("How"),
        choices=NewsDelivery.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not Tag.objects.exists():
            del self.fields["tags"]  # nothing to follow there yet: no empty picker

    def clean_tags(self):
        tags = self.cleaned_data["tags"]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(_("At most %(count)d tags.") % {"count": MAX_TAGS})
        return tags


@login_required
@require_http_methods(["GET", "POST"])
def follow(request):
    user = request.user
    initial = {
        "tracks": list(user.tracks_of_interest.all()),
        "tags": list(user.followed_tags.all()),
        "delivery": user.news_delivery
        if user.news_delivery != NewsDelivery.OFF or user.followed_since
        else NewsDelivery.WEEKLY,
    }
    form = FollowForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user.tracks_of_interest.set(form.cleaned_data["tracks"])
            user.followed_tags.set(form.cleaned_data.get("tags", []))
            user.news_delivery = form.cleaned_data["delivery"]
            # What happened before one followed is not news.
            user.followed_since = user.followed_since or timezone.now()
            user.save(update_fields=["news_delivery", "followed_since"])
        messages.success(request, _("Saved: you follow what you chose."))
        return redirect("follow")
    return render(request, "follow.html", {"form": form})
