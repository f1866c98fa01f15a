"""Hosts that are really separate: web, worker A and worker B each in a network namespace of their own, each from
its own copy of the code with its own scratch directory, reaching the run's servers over TCP only.

The module makes the topology itself (`ip netns`, veth pairs, a private /24) and deletes it after, even after a
failure; where namespaces cannot be made, the tests fail and say so. One 100 MB file of real access-log lines is
uploaded twice to the web host like a real client does: once processed by both workers, once while worker B's
host loses all its processes mid-job.
"""

import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import requests
from django.conf import settings

from config.celery import app as celery_app
from ingestion import repository
from tests.conftest import ROOT, fresh_user_id, wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.faults import topology
from tests.faults.figures import record
from tests.helpers import count_documents, wait_for_job

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FILE_BYTES = 100 * 2**20
BIG_FILE = ROOT / "var" / "test" / "hosts-100mb-web-access.ndjson"
WEB_PORT = 8000
WORKERS = ("worker-a", "worker-b")
NAME_PREFIX = "hosts-test"


def big_file() -> tuple[Path, int]:
    """100 MB (the upload limit, 100 MiB, filled with whole lines) of the shared access-log lines in turn, each with
    its own event_id (every line a distinct event); made once and kept under var/test. Its path and line count."""
    if not BIG_FILE.exists() or not FILE_BYTES - 2**16 < BIG_FILE.stat().st_size <= FILE_BYTES:
        rows = [row.rstrip(b"\n") for row in WEB_ACCESS_LOGS.read_bytes().splitlines()]
        partial = BIG_FILE.with_suffix(".partial")
        with partial.open("wb") as out:
            number = 0
            while True:
                line = b'{"event_id":"host-test-%d",' % number + rows[number % len(rows)][1:] + b"\n"
                if out.tell() + len(line) > FILE_BYTES:
                    break
                out.write(line)
                number += 1
        partial.rename(BIG_FILE)
    with BIG_FILE.open("rb") as source:
        return BIG_FILE, sum(block.count(b"\n") for block in iter(lambda: source.read(2**20), b""))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_ports(postgres_port: int) -> list[int]:
    """The run's servers, all on 127.0.0.1: Redis, FerretDB, Elasticsearch, MinIO, and the topology's PostgreSQL."""
    urls = [settings.REDIS_URL, os.environ["MONGODB_URI"], settings.ELASTICSEARCH_URL, os.environ["S3_ENDPOINT_URL"]]
    return [int(url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]) for url in urls] + [postgres_port]


def host_env(host: topology.Host, home: Path, database_url: str) -> dict:
    """A host's environment: the servers at its gateway's forwarded ports, its own HOME and scratch directory."""
    on_gateway = lambda url: url.replace("127.0.0.1", host.gateway)  # noqa: E731
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": on_gateway(settings.REDIS_URL),
        "CELERY_BROKER_URL": on_gateway(settings.CELERY_BROKER_URL),
        "MONGODB_URI": on_gateway(os.environ["MONGODB_URI"]),
        "ELASTICSEARCH_URL": on_gateway(settings.ELASTICSEARCH_URL),
        "STORAGE": "s3",
        "S3_ENDPOINT_URL": on_gateway(os.environ["S3_ENDPOINT_URL"]),
        "S3_BUCKET": os.environ["S3_BUCKET"],
        "S3_ACCESS_KEY": os.environ["S3_ACCESS_KEY"],
        "S3_SECRET_KEY": os.environ["S3_SECRET_KEY"],
        "SCRATCH_DIR": str(home / "scratch"),
        "TMPDIR": str(home),
        "UPLOADS_DIR": str(home / "uploads"),
        "LOGS_INDEX_PREFIX": settings.LOGS_INDEX_PREFIX,
        "FRAUD_ALERTS_INDEX": settings.FRAUD_ALERTS_INDEX,
        "ALLOWED_HOSTS": host.address,
        # A dead worker's chunks are handed out again after 10 s (90 s by default), as in the other fault tests.
        "LOGS_TASK_VISIBILITY_SECONDS": "10",
    }


class WebClient:
    """A real HTTP client of the web host, with token auth; `get` answers like the test client's (`.json()`)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, timeout=30)

    def upload(self, path: Path) -> dict:
        with path.open("rb") as content:
            response = self.session.post(
                self.base + "/api/logs/upload", files={"file": (path.name, content)}, timeout=600
            )
        assert response.status_code == 201, response.text
        return response.json()["data"]


def make_user(web: SimpleNamespace) -> str:
    """A user and their API token, made on the web host with its own code (as an operator would); the token."""
    token = secrets.token_hex(20)
    script = (
        "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
        f"user = get_user_model().objects.create_user(id={fresh_user_id()}, username='host-tester', "
        "password='a-long-host-password'); "
        f"Token.objects.create(user=user, key='{token}')"
    )
    topology.host_run(web.host, [sys.executable, "manage.py", "shell", "-c", script], cwd=web.code, env=web.env)
    return token


def worker_names() -> set[str]:
    return {name for reply in celery_app.control.ping(timeout=1) for name in reply}


def started(condition, *logs: Path) -> None:
    """Wait for a host's process to answer; if it never does, fail with the end of its log."""
    try:
        wait_until(condition, attempts=120, interval=1)
    except AssertionError:
        pytest.fail("A host did not start:\n" + "\n".join(log.read_text()[-3000:] for log in logs))


@pytest.fixture(scope="module")
def hosts(celery_worker, minio):
    """The topology: web (gunicorn on STORAGE=s3) and workers A and B, each in its own namespace and directory."""
    celery_worker.stop()  # the run's own worker would take chunks on this machine's root namespace
    celery_app.control.purge()
    tag = f"{NAME_PREFIX}-{os.getpid()}"
    base = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    with ExitStack() as cleanup:
        cleanup.callback(celery_worker.start)
        cleanup.callback(shutil.rmtree, base, ignore_errors=True)
        try:
            topology.stale_namespaces_delete(NAME_PREFIX)
            prefix = topology.private_network()
            made = []
            for index, name in enumerate(["web", *WORKERS]):
                cleanup.callback(topology.namespace_delete, f"{tag}-{name}")
                made.append(topology.namespace_add(name=f"{tag}-{name}", tag="wab"[index], prefix=prefix, index=index))
        except (RuntimeError, FileNotFoundError) as error:
            pytest.fail(f"The network namespaces for the separate hosts could not be made, so nothing ran: {error}")
        postgres = topology.Postgres(free_port())
        cleanup.callback(postgres.stop)
        postgres.start()
        forwarder = topology.Forwarder()
        cleanup.callback(forwarder.stop)
        forwarder.start(addresses=[host.gateway for host in made], ports=server_ports(postgres.port))

        machines = {}
        for host in made:
            name = host.namespace.removeprefix(f"{tag}-")
            own = base / name
            code = topology.code_copy(own / "code")
            env = host_env(host, own / "home", postgres.url(host.gateway))
            machines[name] = SimpleNamespace(host=host, code=code, env=env, log=own / "home" / f"{name}.log")
        web = machines["web"]
        topology.host_run(web.host, [sys.executable, "manage.py", "migrate", "--noinput"], cwd=web.code, env=web.env)
        gunicorn = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"{web.host.address}:{WEB_PORT}"]
        gunicorn += ["--workers", "2", "--threads", "4", "--timeout", "600"]
        topology.host_start(web.host, gunicorn, cwd=web.code, env=web.env, log=web.log)
        base_url = f"http://{web.host.address}:{WEB_PORT}"
        started(lambda: topology.answers(base_url + "/api/logs/uploads"), web.log)
        for name in WORKERS:
            machine = machines[name]
            command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1"]
            command += ["--loglevel", "INFO", "-n", f"{name}@{machine.host.namespace}"]
            machine.process = topology.host_start(
                machine.host, command, cwd=machine.code, env=machine.env, log=machine.log
            )
            machine.celery_name = f"{name}@{machine.host.namespace}"
        expected = {machines[name].celery_name for name in WORKERS}
        started(lambda: worker_names() >= expected, *(machines[name].log for name in WORKERS))
        yield SimpleNamespace(
            client=WebClient(base_url, make_user(web)),
            machines=machines,
            postgres=postgres,
        )


@pytest.fixture(scope="module")
def hundred_mb():
    return big_file()


def results(postgres: topology.Postgres, query: str, *values) -> list[tuple]:
    """Rows of the task results the workers record in the hosts' shared database."""
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=logs") as connection:
        return connection.execute(query, values).fetchall()


def chunk_workers(postgres: topology.Postgres, job_id: str) -> dict[str, int]:
    """How many chunks each worker host parsed for the job (Celery records the worker of each task)."""
    query = (
        "select worker, count(*) from django_celery_results_taskresult "
        "where task_name = 'ingestion.parse' and status = 'SUCCESS' and task_args like %s group by worker"
    )
    return dict(results(postgres, query, f"%{job_id}%"))


def task_outcome(postgres: topology.Postgres, task_id: str) -> tuple[str, str] | None:
    """The worker that finished the task and how it ended; None while no worker has."""
    rows = results(postgres, "select worker, status from django_celery_results_taskresult where task_id = %s", task_id)
    return rows[0] if rows else None


def held_tasks(worker: str, job_id: str) -> list[str]:
    """The ids of the job's tasks the worker is running or has taken (Celery's inspect, over the broker)."""
    inspect = celery_app.control.inspect(destination=[worker], timeout=1)
    held = [*(inspect.active() or {}).get(worker, []), *(inspect.reserved() or {}).get(worker, [])]
    return [task["id"] for task in held if job_id in str(task["args"])]


def assert_every_line_accounted(job: dict, lines: int, file_id: str) -> None:
    counts = job["counts"]
    assert job["status"] == "completed", job
    assert counts["total_lines"] == lines
    assert counts["indexed"] + counts["dead_lettered"] + counts["fallback"] == lines, counts
    assert counts["indexed"] == lines  # real access-log lines: none is rejected or set aside
    assert count_documents(file_id) == lines  # one document per line: none lost, none twice


def test_each_host_runs_from_its_own_copy_of_the_code_and_reaches_the_servers_only_over_the_network(hosts):
    probe = "import socket, sys; print(socket.socket().connect_ex((sys.argv[1], int(sys.argv[2]))))"
    ports = server_ports(hosts.postgres.port)
    for machine in hosts.machines.values():
        for port in ports:
            on_loopback = [sys.executable, "-c", probe, "127.0.0.1", str(port)]
            forwarded = [sys.executable, "-c", probe, machine.host.gateway, str(port)]
            refused = int(topology.host_run(machine.host, on_loopback, cwd=machine.code, env=machine.env))
            assert refused != 0, f"{machine.host.namespace} reaches 127.0.0.1:{port}"
            assert topology.host_run(machine.host, forwarded, cwd=machine.code, env=machine.env).strip() == "0"
        running = topology.namespace_pids(machine.host.namespace)
        assert running, f"nothing runs in {machine.host.namespace}"
        assert {Path(os.readlink(f"/proc/{pid}/cwd")) for pid in running} == {machine.code}


def test_a_100_mb_upload_to_the_web_host_is_processed_by_both_worker_hosts_exactly(hosts, hundred_mb):
    path, lines = hundred_mb
    began = time.monotonic()
    data = hosts.client.upload(path)
    uploaded = time.monotonic()
    job = wait_for_job(hosts.client, data["job_id"], attempts=6000)
    finished = time.monotonic()

    assert_every_line_accounted(job, lines, data["file_id"])
    parsed_by = chunk_workers(hosts.postgres, data["job_id"])
    assert set(parsed_by) == {hosts.machines[name].celery_name for name in WORKERS}, parsed_by  # each took chunks
    assert sum(parsed_by.values()) == len(repository.job_get(data["job_id"]).plan)  # every chunk parsed once
    record(
        "100 MB uploaded to the web host, processed by worker hosts A and B (separate namespaces)",
        lines=lines,
        upload_seconds=round(uploaded - began, 1),
        completed_seconds_after_upload=round(finished - uploaded),
        chunks_parsed=parsed_by,
    )


def test_killing_worker_b_host_mid_job_still_accounts_for_every_line_once(hosts, hundred_mb):
    path, lines = hundred_mb
    worker_a, worker_b = hosts.machines["worker-a"], hosts.machines["worker-b"]
    data = hosts.client.upload(path)
    # B has finished a chunk's parse and holds another of the job's tasks: kill its host then.
    held = wait_until(
        lambda: chunk_workers(hosts.postgres, data["job_id"]).get(worker_b.celery_name)
        and held_tasks(worker_b.celery_name, data["job_id"]),
        attempts=600,
        interval=0.5,
    )
    killed = topology.namespace_kill(worker_b.host.namespace)
    killed_at = time.monotonic()
    unfinished = [task_id for task_id in held if task_outcome(hosts.postgres, task_id) is None]
    status_at_kill = hosts.client.get(f"/api/logs/jobs/{data['job_id']}").json()["status"]
    job = wait_for_job(hosts.client, data["job_id"], attempts=6000)

    assert worker_b.process.pid in killed
    assert topology.namespace_pids(worker_b.host.namespace) == []
    assert status_at_kill == "processing"
    assert unfinished, "worker B finished the tasks it held before it was killed"
    # Worker A took over what B held (after the visibility timeout) and finished it.
    assert {task_outcome(hosts.postgres, task_id) for task_id in unfinished} == {(worker_a.celery_name, "SUCCESS")}
    assert_every_line_accounted(job, lines, data["file_id"])
    record(
        "worker host B killed mid-job (100 MB, separate namespaces): all its processes SIGKILLed",
        lost=0,
        duplicates=0,
        tasks_taken_over_by_a=len(unfinished),
        completed_seconds_after_kill=round(time.monotonic() - killed_at),
    )
