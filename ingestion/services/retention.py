"""Retention: the policies, the plan of what they delete now (the dry run), and the run that deletes it.

A run is a list of claimed steps (a whole daily index, a job's events, its file, its dead letters, a stream
owner's day). Each step is claimed by a unique (run, key) row before it deletes anything and marked done after;
its figures are what it held when it was claimed. A run killed half-way is resumed by the next start under the
same run id and cut-off moment: done steps are skipped, claimed-but-unfinished ones are done again (deleting
what is already gone is harmless) without counting anything twice.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from config.errors import ServiceUnavailable
from config.es import get_es
from ingestion import expiry, files
from ingestion import repository as repo
from ingestion.bulk import TransientIndexError, delete_file_documents, delete_matching, refresh
from ingestion.data_version import data_version_bump
from ingestion.documents import day_of_daily_index
from ingestion.indices import delete_if_empty, delete_whole_if, index_sizes
from ingestion.job import Job
from ingestion.models import RetentionPolicy, RetentionRun, RetentionStep

logger = logging.getLogger(__name__)

POLICY_FIELDS = ("upload_events_days", "stream_events_days", "files_days", "dead_letters_days")
Kind = RetentionStep.Kind
# Whole indices first: the job and stream steps then count only what is left outside them.
KIND_ORDER = [Kind.INDEX, Kind.JOB_EVENTS, Kind.STREAM_EVENTS, Kind.DEAD_LETTERS, Kind.JOB_FILE]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Policies


@dataclass(frozen=True)
class Policy:
    """Days each kind of data is kept; None keeps it for ever."""

    upload_events_days: int | None = None
    stream_events_days: int | None = None
    files_days: int | None = None
    dead_letters_days: int | None = None

    @property
    def keeps_everything(self) -> bool:
        return all(getattr(self, name) is None for name in POLICY_FIELDS)


def _policy_of(row: RetentionPolicy | None) -> Policy:
    return Policy(**{name: getattr(row, name) for name in POLICY_FIELDS}) if row else Policy()


def _merged(own: Policy, default: Policy) -> Policy:
    """A user's figure where they set one, the default's elsewhere."""
    return Policy(**{name: _first_set(getattr(own, name), getattr(default, name)) for name in POLICY_FIELDS})


def _first_set(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


def policy_default() -> Policy:
    return _policy_of(RetentionPolicy.objects.filter(is_default=True).first())


def policy_own(*, user: AbstractBaseUser) -> Policy:
    return _policy_of(RetentionPolicy.objects.filter(owner_id=user.pk).first())


def policy_effective(*, user: AbstractBaseUser) -> Policy:
    return _merged(policy_own(user=user), policy_default())


def policy_update(*, user: AbstractBaseUser, values: dict[str, int | None]) -> Policy:
    """Set a user's own policy (a None figure follows the staff default)."""
    RetentionPolicy.objects.update_or_create(
        owner_id=user.pk, defaults={name: values.get(name) for name in POLICY_FIELDS}
    )
    return policy_own(user=user)


def policy_default_update(*, values: dict[str, int | None]) -> Policy:
    """Set the staff default, which applies to every user for the figures they leave empty."""
    RetentionPolicy.objects.update_or_create(
        is_default=True, defaults={name: values.get(name) for name in POLICY_FIELDS}
    )
    return policy_default()


class Policies:
    """Every owner's effective policy, read once per plan."""

    def __init__(self) -> None:
        self.default = policy_default()
        self.own = {row.owner_id: _policy_of(row) for row in RetentionPolicy.objects.filter(owner_id__isnull=False)}

    def of(self, owner_id: int) -> Policy:
        return _merged(self.own.get(owner_id, Policy()), self.default)

    @property
    def keeps_everything(self) -> bool:
        return self.default.keeps_everything and all(policy.keeps_everything for policy in self.own.values())

    def shortest(self, name: str) -> int | None:
        days = [getattr(policy, name) for policy in [self.default, *self.own.values()]]
        return min((value for value in days if value is not None), default=None)


# The plan


@dataclass
class Step:
    kind: str
    key: str
    target: str
    owner_id: int | None
    documents: int = 0
    bytes: int = 0
    files: int = 0
    dead_letters: int = 0
    days: int | None = None
    # Documents per owner (a whole index holds several owners' documents).
    owners: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        answer = asdict(self)
        answer["owners"] = {str(owner): count for owner, count in self.owners.items()}
        return answer


@dataclass
class Expired:
    """What the policies have expired at a moment: jobs by kind, and stream owners' days."""

    events: dict[str, tuple[Job, int]] = field(default_factory=dict)  # file_id -> (job, days)
    file_jobs: list[tuple[Job, int]] = field(default_factory=list)
    letter_jobs: list[tuple[Job, int]] = field(default_factory=list)
    streams: dict[int, tuple[dict[str, int], int]] = field(default_factory=dict)  # owner -> ({index: docs}, days)


def _expired(policies: Policies, at: dt.datetime) -> Expired:
    expired = Expired()
    shortest = [policies.shortest(name) for name in ("upload_events_days", "files_days", "dead_letters_days")]
    if any(days is not None for days in shortest):
        before = at - dt.timedelta(days=min(days for days in shortest if days is not None))
        for job in repo.jobs_finished_before(before=before):
            _sort_job(expired, job, policies.of(job.owner_id), at)
    if policies.shortest("stream_events_days") is not None:
        for owner, per_index in expiry.stream_documents(get_es(), settings.LOGS_INDEX_PREFIX).items():
            days = policies.of(owner).stream_events_days
            if days is not None:
                last_kept = (at - dt.timedelta(days=days)).date().isoformat()
                old = {index: count for index, count in per_index.items() if _day(index) < last_kept}
                if old:
                    expired.streams[owner] = (old, days)
    return expired


def _day(index: str) -> str:
    return day_of_daily_index(settings.LOGS_INDEX_PREFIX, index) or "9999-99-99"


def _sort_job(expired: Expired, job: Job, policy: Policy, at: dt.datetime) -> None:
    def older(days: int | None) -> bool:
        return days is not None and job.created_at < at - dt.timedelta(days=days)

    done = job.retention
    if older(policy.upload_events_days) and not done.get("events_deleted_at"):
        expired.events[job.file_id] = (job, policy.upload_events_days)
    if older(policy.files_days) and not done.get("file_deleted_at"):
        expired.file_jobs.append((job, policy.files_days))
    if older(policy.dead_letters_days) and job.counts.get("dead_lettered") and not done.get("dead_letters_deleted_at"):
        expired.letter_jobs.append((job, policy.dead_letters_days))


def _wholly_expired(expired: Expired, index: str) -> tuple[int, dict[int, int]] | None:
    """(documents, per owner) of an index every document of which has expired; None when one has not."""
    total, by_file, stream_owners = expiry.index_holders(get_es(), index)
    owners: dict[int, int] = {}
    for file_id, count in by_file.items():
        if file_id not in expired.events:
            return None
        owner = expired.events[file_id][0].owner_id
        owners[owner] = owners.get(owner, 0) + count
    for owner, count in stream_owners.items():
        if index not in expired.streams.get(owner, ({}, 0))[0]:
            return None
        owners[owner] = owners.get(owner, 0) + count
    if total == 0 or sum(owners.values()) != total:
        return None  # documents of neither kind (or none at all: the empty-index sweep takes those)
    return total, owners


def retention_plan(*, at: dt.datetime) -> list[Step]:
    """Every step the policies call for at `at`, with what each would delete now (the dry run)."""
    policies = Policies()
    if policies.keeps_everything:
        return []
    expired = _expired(policies, at)
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    sizes = index_sizes(es, prefix) if expired.events or expired.streams else {}
    candidates = {index for job, _ in expired.events.values() for index in job.indices} | {
        index for per_index, _ in expired.streams.values() for index in per_index
    }
    steps, whole = [], set()
    for index in sorted(candidates & set(sizes)):
        found = _wholly_expired(expired, index)
        if found:
            whole.add(index)
            steps.append(Step(Kind.INDEX, f"index:{index}", index, None, found[0], sizes[index][1], owners=found[1]))
    for job, days in expired.events.values():
        steps.append(_job_events_step(job, days, whole, sizes))
    for owner, (per_index, days) in expired.streams.items():
        for index, count in sorted(per_index.items()):
            if index not in whole:
                estimate = expiry.estimate_bytes(sizes, index, count)
                steps.append(
                    Step(Kind.STREAM_EVENTS, f"stream:{owner}:{index}", index, owner, count, estimate, days=days)
                )
    letters = repo.dead_letters_count_by_job([job.job_id for job, _ in expired.letter_jobs])
    for job, days in expired.letter_jobs:
        if letters.get(job.job_id):
            steps.append(
                Step(
                    Kind.DEAD_LETTERS,
                    f"letters:{job.job_id}",
                    job.job_id,
                    job.owner_id,
                    dead_letters=letters[job.job_id],
                    days=days,
                )
            )
    for job, days in expired.file_jobs:
        steps.append(
            Step(Kind.JOB_FILE, f"file:{job.job_id}", job.job_id, job.owner_id, bytes=job.file_size, files=1, days=days)
        )
    return sorted(steps, key=lambda step: KIND_ORDER.index(step.kind))


def _job_events_step(job: Job, days: int, whole: set[str], sizes: dict[str, tuple[int, int]]) -> Step:
    per_index = expiry.file_documents_by_index(get_es(), settings.LOGS_INDEX_PREFIX, job.file_id)
    left = {index: count for index, count in per_index.items() if index not in whole}
    return Step(
        Kind.JOB_EVENTS,
        f"events:{job.job_id}",
        job.job_id,
        job.owner_id,
        documents=sum(left.values()),
        bytes=sum(expiry.estimate_bytes(sizes, index, count) for index, count in left.items()),
        days=days,
    )


def retention_dry_run(*, owner_id: int | None = None, at: dt.datetime | None = None) -> dict:
    """What a run would delete now: totals, per user, and the steps (one owner's only, when given)."""
    try:
        steps = retention_plan(at=at or now())
    except TransientIndexError as error:
        raise ServiceUnavailable(
            "The search index is unavailable, so the dry run cannot count; try again shortly"
        ) from error
    if owner_id is not None:
        steps = [_share(step, owner_id) for step in steps if step.owner_id == owner_id or owner_id in step.owners]
    return {"totals": _totals(steps), "per_user": _per_user(steps), "steps": [step.as_dict() for step in steps]}


def _share(step: Step, owner_id: int) -> Step:
    """One owner's part of a whole index (its documents, and bytes in proportion)."""
    if step.owner_id is not None:
        return step
    mine = step.owners[owner_id]
    part = round(step.bytes * mine / step.documents) if step.documents else 0
    return Step(step.kind, step.key, step.target, owner_id, mine, part, owners={owner_id: mine})


def _totals(steps: list) -> dict:
    jobs = {step.target for step in steps if step.kind in (Kind.JOB_EVENTS, Kind.JOB_FILE, Kind.DEAD_LETTERS)}
    return {
        "jobs": len(jobs),
        "events": sum(step.documents for step in steps),
        "bytes": sum(step.bytes for step in steps if step.kind != Kind.JOB_FILE),
        "files": sum(step.files for step in steps),
        "file_bytes": sum(step.bytes for step in steps if step.kind == Kind.JOB_FILE),
        "dead_letters": sum(step.dead_letters for step in steps),
        "indices": sum(1 for step in steps if step.kind == Kind.INDEX),
    }


def _per_user(steps: list[Step]) -> list[dict]:
    owners = sorted(
        {owner for step in steps for owner in ([step.owner_id] if step.owner_id is not None else step.owners)}
    )
    return [
        {
            "owner_id": owner,
            **_totals([_share(step, owner) for step in steps if step.owner_id == owner or owner in step.owners]),
        }
        for owner in owners
    ]


# The run


def _open_run(trigger: str) -> RetentionRun:
    """A new run, or the unfinished one (a run killed half-way) to resume under its own id and cut-off."""
    started = now()
    try:
        with transaction.atomic():
            return RetentionRun.objects.create(
                run_id=uuid.uuid4().hex, cutoff_at=started, started_at=started, trigger=trigger
            )
    except IntegrityError:
        run = RetentionRun.objects.get(is_open=True)
        RetentionRun.objects.filter(pk=run.pk).update(resumes=run.resumes + 1)
        return run


def retention_run(*, trigger: str, progress: Callable[[str], None] | None = None) -> RetentionRun:
    """Apply the policies now (or finish the interrupted run): every planned step, claimed, done once."""
    run = _open_run(trigger)
    steps = retention_plan(at=run.cutoff_at)
    for number, step in enumerate(steps, 1):
        outcome = _run_step(run, step)
        if progress:
            progress(f"[{number}/{len(steps)}] {step.kind} {step.target}: {outcome}")
    _close_interrupted(run, {step.key for step in steps})
    RetentionRun.objects.filter(pk=run.pk).update(finished_at=now(), is_open=None)
    if steps:
        data_version_bump()
    run.refresh_from_db()
    return run


def _close_interrupted(run: RetentionRun, planned: set[str]) -> None:
    """Steps claimed before a crash that the plan no longer holds had finished their work (the plan leaves out only
    what is done: an index gone, a job marked): they are done, with the figures counted when they were claimed."""
    RetentionStep.objects.filter(run=run, done_at__isnull=True).exclude(key__in=planned).update(done_at=now())


def _claim(run: RetentionRun, step: Step, figures: Callable[[], dict]) -> RetentionStep | None:
    """Claim a step (its figures counted now); the claim of an interrupted attempt is taken again, a done one is not."""
    existing = RetentionStep.objects.filter(run=run, key=step.key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return RetentionStep.objects.create(
                    run=run,
                    key=step.key,
                    kind=step.kind,
                    owner_id=step.owner_id,
                    target=step.target,
                    claimed_at=now(),
                    **figures(),
                )
        except IntegrityError:
            existing = RetentionStep.objects.get(run=run, key=step.key)
    return None if existing.done_at else existing


def _done(claimed: RetentionStep) -> None:
    RetentionStep.objects.filter(pk=claimed.pk).update(done_at=now())


def _run_step(run: RetentionRun, step: Step) -> str:
    if step.kind == Kind.INDEX:
        return _delete_index(run, step)
    if step.kind == Kind.STREAM_EVENTS:
        return _delete_stream_day(run, step)
    holder = f"retention:{run.run_id}"
    # The job's one writer while its data goes (a retry or a deletion waits); a run resumed takes it again.
    stale_before = now() - dt.timedelta(minutes=settings.LOGS_STUCK_AFTER_MINUTES)
    if not repo.busy_claim(step.target, holder, stale_before=stale_before):
        return "skipped: another change to the job is under way"
    # Read under the claim: a retry that started since the plan leaves the job running, and it is not touched.
    job = repo.job_get(step.target)
    if job is None or not job.finished:
        repo.busy_release(step.target, holder)
        return "skipped: the job is gone or running again"
    try:
        action = {
            Kind.JOB_EVENTS: _delete_job_events,
            Kind.JOB_FILE: _delete_job_file,
            Kind.DEAD_LETTERS: _delete_letters,
        }
        return action[step.kind](run, step, job)
    finally:
        repo.busy_release(job.job_id, holder)


def _delete_index(run: RetentionRun, step: Step) -> str:
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    sizes = index_sizes(es, prefix)
    # Counted as the plan counts (a search of the index), so the audit matches the dry run.
    claimed = _claim(
        run,
        step,
        lambda: {"documents": expiry.index_holders(es, step.target)[0], "bytes": sizes.get(step.target, (0, 0))[1]},
    )
    if claimed is None:
        return "already done"
    expired = _expired(Policies(), run.cutoff_at)
    still_expired = lambda name: _wholly_expired(expired, name) is not None  # noqa: E731
    if not delete_whole_if(es, prefix, step.target, still_expired) and step.target in sizes:
        # Something that has not expired arrived meanwhile: its jobs' and streams' steps delete by document.
        claimed.delete()
        return "kept: it now holds documents that have not expired"
    _done(claimed)
    return f"deleted the index ({claimed.documents} documents)"


def _delete_job_events(run: RetentionRun, step: Step, job: Job) -> str:
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    refresh(es, prefix)
    claimed = _claim(run, step, lambda: _job_figures(job))
    if claimed is None:
        return "already done"
    deletion = delete_file_documents(es, prefix, job.file_id)
    delete_if_empty(es, prefix, deletion.indices | set(job.indices))
    repo.job_update(
        job.job_id,
        {
            "retention.events_deleted_at": now(),
            "retention.events_deleted": job.counts.get("indexed", 0) + job.counts.get("fallback", 0),
            "retention.events_days": step.days,
        },
    )
    _done(claimed)
    return f"deleted {claimed.documents} events"


def _job_figures(job: Job) -> dict:
    sizes = index_sizes(get_es(), settings.LOGS_INDEX_PREFIX)
    per_index = expiry.file_documents_by_index(get_es(), settings.LOGS_INDEX_PREFIX, job.file_id)
    return {
        "documents": sum(per_index.values()),
        "bytes": sum(expiry.estimate_bytes(sizes, index, count) for index, count in per_index.items()),
    }


def _delete_stream_day(run: RetentionRun, step: Step) -> str:
    es, prefix = get_es(), settings.LOGS_INDEX_PREFIX
    refresh(es, prefix)
    claimed = _claim(run, step, lambda: {"documents": expiry.stream_count(es, step.target, step.owner_id)})
    if claimed is None:
        return "already done"
    delete_matching(es, step.target, expiry.stream_query(step.owner_id))
    refresh(es, prefix)
    delete_if_empty(es, prefix, [step.target])
    _done(claimed)
    return f"deleted {claimed.documents} streamed events"


def _delete_job_file(run: RetentionRun, step: Step, job: Job) -> str:
    claimed = _claim(run, step, lambda: {"bytes": job.file_size, "files": 1})
    if claimed is None:
        return "already done"
    files.delete_stored(job.stored_name, job.source_name)
    repo.job_update(job.job_id, {"retention.file_deleted_at": now(), "retention.file_days": step.days})
    _done(claimed)
    return f"deleted the uploaded file ({job.file_size} bytes)"


def _delete_letters(run: RetentionRun, step: Step, job: Job) -> str:
    claimed = _claim(run, step, lambda: {"dead_letters": repo.dead_letters_count(job.job_id)})
    if claimed is None:
        return "already done"
    repo.dead_letters_delete(job.job_id)
    repo.job_update(
        job.job_id, {"retention.dead_letters_deleted_at": now(), "retention.dead_letters_deleted": claimed.dead_letters}
    )
    _done(claimed)
    return f"deleted {claimed.dead_letters} dead letters"


# The audit


def retention_runs(*, limit: int = 50) -> list[RetentionRun]:
    return list(RetentionRun.objects.prefetch_related("steps")[:limit])


def retention_last_run() -> dict | None:
    """The latest run in brief (the dashboard's line): when, and what it deleted."""
    run = RetentionRun.objects.first()
    if run is None:
        return None
    steps = list(run.steps.all())
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "steps": len(steps),
        "documents": sum(step.documents for step in steps),
        "files": sum(step.files for step in steps),
        "dead_letters": sum(step.dead_letters for step in steps),
    }
