"""manage.py delete_empty_indices [--dry-run]: give back the shards of daily indices that hold no document."""

from django.conf import settings
from django.core.management.base import BaseCommand

from ingestion.services.jobs import indices_delete_empty


class Command(BaseCommand):
    help = "Delete the daily indices of LOGS_INDEX_PREFIX that hold no document (beat runs it daily)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only print the empty indices")

    def handle(self, *args, dry_run: bool, **options):
        names = indices_delete_empty(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for name in names:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{verb} {len(names)} empty daily indices of {settings.LOGS_INDEX_PREFIX}")
