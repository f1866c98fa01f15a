"""Separate hosts on one machine for the topology test: network namespaces joined to the root namespace by veth
pairs, TCP forwarders to the run's servers, a throwaway PostgreSQL, and a copy of the code per host."""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import ROOT, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def run(*command: str, user: str | None = None) -> str:
    """Run a command (as `user` when given); fail with its output when it fails."""
    if user:
        command = ("runuser", "-u", user, "--", *command)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its own address and the root side's address it reaches the servers on."""

    namespace: str
    address: str
    gateway: str


def private_network() -> str:
    """The first three numbers of a /24 of our own for this run, from the pid (unique while the run lasts)."""
    pid = os.getpid()
    prefix = f"10.{(pid >> 8) & 255}.{pid & 255}"
    if prefix + "." in run("ip", "-4", "addr", "show"):
        raise RuntimeError(f"{prefix}.0/24 is already in use on this machine")
    return prefix


def namespace_add(*, name: str, tag: str, prefix: str, index: int) -> Host:
    """A namespace with loopback up and a veth pair to the root namespace (a /30 of the run's /24)."""
    gateway, address = f"{prefix}.{4 * index + 1}", f"{prefix}.{4 * index + 2}"
    root_side, host_side = f"v{os.getpid()}{tag}r", f"v{os.getpid()}{tag}n"
    run("ip", "netns", "add", name)
    run("ip", "link", "add", root_side, "type", "veth", "peer", "name", host_side, "netns", name)
    run("ip", "addr", "add", f"{gateway}/30", "dev", root_side)
    run("ip", "link", "set", root_side, "up")
    run("ip", "-n", name, "addr", "add", f"{address}/30", "dev", host_side)
    run("ip", "-n", name, "link", "set", host_side, "up")
    run("ip", "-n", name, "link", "set", "lo", "up")
    return Host(namespace=name, address=address, gateway=gateway)


def namespace_pids(name: str) -> list[int]:
    return [int(pid) for pid in run("ip", "netns", "pids", name).split()]


def namespace_kill(name: str) -> list[int]:
    """SIGKILL every process in the namespace, as a host losing power would; returns their pids."""
    pids = namespace_pids(name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it exited between the listing and the kill
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not namespace_pids(name), attempts=100)
    return pids


def namespace_delete(name: str) -> None:
    """Kill what runs in the namespace and delete it (its veth pair goes with it)."""
    if name in run("ip", "netns", "list").split():
        namespace_kill(name)
        run("ip", "netns", "del", name)


def stale_namespaces_delete(prefix: str) -> None:
    """Delete the namespaces an earlier run killed outright left behind (named `<prefix>-<its pid>-<host>`)."""
    for name in run("ip", "netns", "list").split():
        found = re.fullmatch(rf"{re.escape(prefix)}-(\d+)-.+", name)
        if found and not Path(f"/proc/{found[1]}").exists():
            namespace_delete(name)


class Forwarder:
    """TCP forwarders listening on the root side of the veth pairs, each to the same port on 127.0.0.1, where the
    servers stay bound: the hosts reach them over TCP only."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncio.Server] = []

    def start(self, *, addresses: list[str], ports: list[int]) -> None:
        self.thread.start()
        for address in addresses:
            for port in ports:
                listening = asyncio.start_server(lambda r, w, port=port: self._pipe(port, r, w), address, port)
                self.servers.append(asyncio.run_coroutine_threadsafe(listening, self.loop).result(timeout=10))

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _close(self) -> None:
        """Stop listening and drop the connections still open."""
        for server in self.servers:
            server.close()
        pipes = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)

    async def _pipe(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))
        writer.close()
        upstream_writer.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(2**16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # a half-close passes through: the other way may still be answering
    except OSError:
        writer.close()


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1: the hosts' shared SQL database (users, tokens, task results)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix=f"hosts-test-{os.getpid()}-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"

    def start(self) -> None:
        run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", user="postgres")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start", user="postgres")
        run(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "logs", user="postgres"
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", user="postgres")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, host: str) -> str:
        return f"postgres://postgres@{host}:{self.port}/logs"


def code_copy(destination: Path) -> Path:
    """This repository's files (tracked and new, not var/ or ignored ones) copied to a host's own directory."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if name.startswith("var/") or not source.is_file():
            continue  # var/ is this machine's state; a file deleted in the work tree is not copied
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def host_start(host: Host, command: list[str], *, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """Start a process inside the host's namespace, from its own directory, writing to its own log."""
    with log.open("a") as output:
        return subprocess.Popen(
            ["ip", "netns", "exec", host.namespace, *command],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def host_run(host: Host, command: list[str], *, cwd: Path, env: dict) -> str:
    """Run a command to its end inside the host's namespace; its output."""
    done = subprocess.run(["ip", "netns", "exec", host.namespace, *command], cwd=cwd, env=env, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command} on {host.namespace} failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return done.stdout.decode()


def answers(url: str) -> bool:
    """Whether an HTTP server answers at `url` (any status)."""
    try:
        requests.get(url, timeout=10)
    except requests.RequestException:
        return False
    return True
