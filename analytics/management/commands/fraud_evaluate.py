"""manage.py fraud_evaluate [--label-field F] [--positive VALUE ...] [--job JOB_ID]: backtest the fraud rules."""

from django.core.management.base import BaseCommand, CommandError

from analytics.fraud.evaluation import evaluate

DEFAULT_POSITIVE = ("fraud", "1", "true")


class Command(BaseCommand):
    help = "Compare the fraud rules' signals with a label field: precision, recall and F1 per rule and per tier."

    def add_arguments(self, parser):
        parser.add_argument(
            "--label-field", default="EVENT_LABEL", help="the indexed field that holds the verdict (EVENT_LABEL)"
        )
        parser.add_argument(
            "--positive",
            action="append",
            help="a label value meaning fraud, repeatable (default: fraud, 1 and true, case-insensitive)",
        )
        parser.add_argument("--job", default=None, help="only the events of this job")
        parser.add_argument("--owner", type=int, default=None, help="only the events of this user id")

    def handle(self, *args, label_field: str, positive: list[str] | None, job: str | None, owner: int | None, **opts):
        positive = positive or list(DEFAULT_POSITIVE)
        result = evaluate(label_field=label_field, positive=positive, job_id=job, owner_id=owner)
        if not result["labelled"]:
            raise CommandError(f"No indexed event has a value in '{label_field}'")
        if not result["positives"]:
            seen = ", ".join(result["values"])
            raise CommandError(
                f"No labelled event has {label_field} in {', '.join(positive)}; the values seen are {seen}. "
                "Name the fraud value with --positive."
            )
        self.stdout.write(
            f"{result['labelled']:,} labelled events, {result['positives']:,} positive "
            f"({label_field} in {', '.join(positive)})\n"
        )
        self.stdout.write(f"{'':<20} {'flagged':>8} {'caught':>7} {'precision':>10} {'recall':>7} {'F1':>6}")
        for heading, rows in (("tier", result["tiers"]), ("rule", result["rules"])):
            self.stdout.write(f"-- per {heading}")
            for row in rows:
                self.stdout.write(
                    f"{row.name:<20} {row.flagged:>8,} {row.true_positives:>7,} {row.precision:>10.3f} "
                    f"{row.recall:>7.3f} {row.f1:>6.3f}"
                )
