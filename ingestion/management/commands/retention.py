"""manage.py retention [--dry-run]: apply the retention policies now, or print what they would delete."""

from django.core.management.base import BaseCommand

from ingestion.services.retention import retention_dry_run, retention_run


class Command(BaseCommand):
    help = "Apply the retention policies now (beat runs it daily); an interrupted run is resumed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only print what would be deleted now")

    def handle(self, *args, dry_run: bool, **options):
        if dry_run:
            plan = retention_dry_run()
            for step in plan["steps"]:
                self.stdout.write(f"would delete {_figures(step)} ({step['kind']} {step['target']})")
            self.stdout.write(f"would delete {_figures(plan['totals'])} in all")
            return
        run = retention_run(trigger="command", progress=self.stdout.write)
        steps = run.steps.all()
        totals = {
            "documents": sum(step.documents for step in steps),
            "files": sum(step.files for step in steps),
            "dead_letters": sum(step.dead_letters for step in steps),
        }
        self.stdout.write(
            f"run {run.run_id}: deleted {totals['documents']} events, {totals['files']} files and "
            f"{totals['dead_letters']} dead letters in {len(steps)} steps"
        )


def _figures(figures: dict) -> str:
    events = figures.get("events", figures.get("documents", 0))
    return (
        f"{events} events, {figures['files']} files, {figures['dead_letters']} dead letters, {figures['bytes']} bytes"
    )
