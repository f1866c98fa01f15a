"""manage.py fraud_scan --owner USER_ID [--job JOB_ID]: screen events now and report what each rule found."""

from django.core.management.base import BaseCommand

from analytics.fraud.services import fraud_scan


class Command(BaseCommand):
    help = "Run the fraud rules over one user's events (one job, or all of them) and update the alerts."

    def add_arguments(self, parser):
        parser.add_argument("--owner", type=int, required=True, help="the uploading user's id")
        parser.add_argument("--job", default=None, help="only this job's events")

    def handle(self, *args, owner: int, job: str | None, **options):
        report = fraud_scan(owner_id=owner, job_id=job)
        self.stdout.write(
            f"scanned {report.events:,} events from {report.documents:,} documents (an order's lines count once); "
            f"{report.cancellations:,} cancellations set apart"
        )
        for key, info in report.rules.items():
            note = f"  ({info['skipped']})" if info.get("skipped") else ""
            self.stdout.write(f"  {key:<20} fired {info['fired']:>6,}  points {info['points']}{note}")
        self.stdout.write(f"alerts: {report.alerts_created} new, {report.alerts_updated} updated")
