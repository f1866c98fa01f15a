"""manage.py ensure_indexes: create the job collections' MongoDB indexes that are missing (safe to rerun)."""

from django.core.management.base import BaseCommand, CommandError

from config.errors import ServiceUnavailable
from ingestion import repository


class Command(BaseCommand):
    help = "Create the MongoDB indexes the job queries need; indexes already there are left as they are."

    def handle(self, *args, verbosity: int, **options):
        try:
            report = repository.ensure_indexes()
        except ServiceUnavailable as error:
            raise CommandError(f"{error}: is MongoDB running at MONGODB_URI?") from error
        for collection, index, created in report:
            if created or verbosity > 1:
                self.stdout.write(f"{'created' if created else 'exists '}  {collection}.{index}")
        made = sum(created for _collection, _index, created in report)
        self.stdout.write(f"MongoDB indexes: {made} created, {len(report) - made} already there")
