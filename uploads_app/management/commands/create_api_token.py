"""manage.py create_api_token USERNAME [--ingest-only]: create the user if needed and print an API token for it."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from uploads_app.tokens import ingest_token_create


class Command(BaseCommand):
    help = (
        "Create USERNAME if it does not exist and print its API token (Authorization: Token <key>). With "
        "--ingest-only, print a new token that can only send events to the ingest endpoints (shown once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--ingest-only",
            action="store_true",
            help="a new token for a shipper: it can send to /api/ingest and /api/ingest/es/, and read nothing",
        )

    def handle(self, *args, username: str, ingest_only: bool = False, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        if ingest_only:
            self.stdout.write(ingest_token_create(user=user))
            return
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
