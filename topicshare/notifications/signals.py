from django.dispatch import Signal

# Sent at the start of every dispatch sweep (each minute, and by `manage.py dispatch_notifications`)
# with `now`: an app that queues time-based messages (the sessions' reminders) listens and
# returns how many it queued. The outbox itself knows nothing of what they are about.
sweep = Signal()
