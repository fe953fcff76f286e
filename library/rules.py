import rules

from members.rules import is_member, is_organiser

rules.add_perm("library.import_items", is_organiser)
rules.add_perm("library.view_members_only", is_member)
