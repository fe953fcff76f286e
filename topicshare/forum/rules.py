"""Who may see the site's own organiser pages (django-rules loads this module)."""

import rules

from members.rules import is_member, is_organiser

# The organisers' inbox (/staff/inbox/) and its count in the navigation.
rules.add_perm("forum.view_inbox", is_organiser)
# A session's or a recruiting topic's promotion pack (/sessions/<id>/promote/).
rules.add_perm("forum.promote", is_organiser)
# The study group checklist (/staff/onboarding/): who to add to or remove from the WeChat
# group, ticked off when done.
rules.add_perm("forum.manage_group_changes", is_organiser)
# Outgoing webhooks for integrations (/staff/webhooks/).
rules.add_perm("forum.manage_webhooks", is_organiser)
# The study group's QR code and how to join (/me/, /study-group/qr/): members and above.
rules.add_perm("forum.view_study_group", is_member)
