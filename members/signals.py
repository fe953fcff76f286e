"""Signals of the members app, for the apps above it (CONVENTIONS: a lower app does not import
a higher one; the higher one listens)."""

from django.dispatch import Signal

# placeholder_merge found that the placeholder's row `dropped` and the account's row `kept`
# (sender: their model) are one row under a unique constraint once both name the account;
# `dropped` is deleted right after the receivers ran. Receivers may carry over what `dropped`
# holds that `kept` lacks (e.g. a proposer's place in a group outranks a participant's).
duplicate_merged = Signal()

# placeholder_merge is about to give a placeholder's rows to the real account `into` (sender: the
# user model; `placeholder`). Each app above members moves its own rows — with
# members.placeholders.user_rows_move(app_label=…) — and returns its app label; members moves
# the rows of the apps below it (its own, the outbox's, Django's and allauth's). Rows nobody
# moved would go with the placeholder: the merge is refused instead.
user_merging = Signal()

# placeholder_merge moved every relation of the placeholder (pk `placeholder_pk`) to `into`
# (sender: the user model); the placeholder is deleted right after, in the same transaction.
# Receivers restore what the move may break in their app (derived columns, invariants the
# database does not enforce).
user_merged = Signal()

# role_set() moved `user` from the role `previous` to `role` (sender: the user model; `by`: who,
# None for the forum itself; `cause`: a members.roles.RoleChangeCause, or None when the forum
# set a role by itself without one: sign-ups, seeding, scripts). Sent inside role_set()'s
# transaction, so that what the receivers write commits or rolls back with the change.
role_changed = Signal()

# application_close() is writing the decision to an admitted applicant (sender: the user model;
# `user`), in the applicant's language. Receivers return (lines, url): lines to add to the
# message (how to join the study group's chat) and a link to give instead of the application's
# status page ("" for none; the first one given is used).
member_welcome = Signal()
