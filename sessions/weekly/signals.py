"""What the sessions app tells the apps above it (they listen; sessions imports none of them)."""

from django.dispatch import Signal

# A weekly session was presented (sender=WeeklySession, session=…): inside the transaction that
# marked it done, so a receiver's writes commit or roll back with it. The library makes the
# talk's item.
session_done = Signal()
