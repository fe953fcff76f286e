"""Who may see the site's own organiser pages (django-rules loads this module)."""

import rules

from members.rules import is_organiser

# The organisers' inbox (/staff/inbox/) and its count in the navigation.
rules.add_perm("forum.view_inbox", is_organiser)
# A session's or a recruiting topic's promotion pack (/sessions/<id>/promote/).
rules.add_perm("forum.promote", is_organiser)
