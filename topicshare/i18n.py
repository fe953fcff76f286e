"""Strings Django translates that the forum wants in its own Chinese.

Django ends form labels with _(":") unless a label already ends in one of _(":?.!"): with
these catalogue entries Chinese forms read "标题：" and "你为什么想加入？" (full-width
punctuation counts as an ending too) instead of "标题:" and "你为什么想加入？:"."""

from django.utils.translation import gettext_noop

LABEL_SUFFIX = gettext_noop(":")
LABEL_ENDINGS = gettext_noop(":?.!")
