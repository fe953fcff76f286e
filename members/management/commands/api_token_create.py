"""`manage.py api_token_create EMAIL [--scope read|write] [--name NAME]`: make a personal API
token and print it, alone on its line, on stdout (so that a script can capture it)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from members.api_tokens import api_token_create
from members.models import ApiToken, User


class Command(BaseCommand):
    help = "Make a personal API token for an account and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The account's e-mail address (any case).")
        # Checked below rather than with choices=, for a CommandError that names the scopes.
        parser.add_argument("--scope", default=ApiToken.Scope.READ, help="read (default) or write")
        parser.add_argument("--name", default="manage.py api_token_create", help="What it is for.")

    def handle(self, *args, email, scope, name, **options):
        if scope not in ApiToken.Scope.values:
            raise CommandError(f"Unknown scope {scope!r}: use read or write.")
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No account has the e-mail address {email!r}.")
        try:
            _token, raw = api_token_create(user=user, name=name, scope=scope)
        except PermissionDenied as error:
            reason = error or "this account cannot have API tokens"
            raise CommandError(f"{user.email}: {reason}") from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(raw)
