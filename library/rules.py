"""Who may do what in the library. Asked as user.has_perm(...) (members/rules.py)."""

import rules

from members.rules import is_audience, is_member, is_organiser


@rules.predicate
def is_item_presenter(user, item) -> bool:
    return item is not None and is_audience(user) and item.presenters.filter(pk=user.pk).exists()


rules.add_perm("library.import_items", is_organiser)
rules.add_perm("library.view_members_only", is_member)
# Slides, the recording link and its extraction code: the item's presenters and organisers.
rules.add_perm("library.change_materials", is_organiser | is_item_presenter)
