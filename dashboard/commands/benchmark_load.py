"""`python -m dashboard benchmark load`: many signed-in sessions at once against the real server, timed per page."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.commands.benchmark import BACKEND_NAMES, load_data, load_line
from dashboard.commands.benchmark_proxy import running_proxy
from dashboard.commands.benchmark_session import DISCONNECTED, FAILED, OK, TIMEOUT, PageRun, StreamlitSession
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.demo.users import DEMO_USERS, DemoUser
from dashboard.i18n import number, t
from dashboard.scratch import scratch_database

TARGET_P95_SECONDS = 3.0
DEFAULT_THINK_SECONDS = 8.0
# Signing in is timed apart, a few at a time: the demo provider is no production identity provider, and what is
# measured is fifty people using the app at once, not fifty pressing "Se connecter" in the same second.
SIGN_IN_CONCURRENCY = 4
SAMPLE_SECONDS = 0.5
PAGES_BY_ROLE = {"captain": ("overview", "outreach"), "director": ("overview", "outreach", "report")}
FILTER_KEYS = ("filter_preset", "filter_places", "filter_service", "report_quarter", "report_year")
PAGE_SHARE = 0.35  # of actions that open another page rather than change a filter
ALL_PLACES_SHARE = 0.3  # of municipality changes that go back to all of them
DEMO_LOAD_USERS = tuple(user for user in DEMO_USERS if user.sub in ("capitaine", "capitaine-sps", "directrice"))
# At province scale the heaviest views are the province-wide ones, as in `benchmark pages`.
PROVINCE_LOAD_USERS = DEMO_LOAD_USERS + (
    DemoUser("capitaine-province", "Capitaine (toute la province)", ("captain",), ("*",)),
    DemoUser("directrice-province", "Directrice (toute la province)", ("director",), ("*",)),
)


@dataclass(frozen=True)
class TimedRun:
    """A page run, and who ran it."""

    role: str
    run: PageRun


@dataclass
class LoadResult:
    """Every run of every session, the sessions that signed in, and the server's memory along the way."""

    sessions: int
    sign_ins: list[TimedRun] = field(default_factory=list)  # each ends with the first page the app shows
    runs: list[TimedRun] = field(default_factory=list)  # what the signed-in sessions did together, timed
    failures: list[str] = field(default_factory=list)  # sessions that ended on an error outside a page run
    memory: list[float] = field(default_factory=list)  # server RSS samples, MB, first at start and last at end
    cpu_seconds: float = 0.0  # what the server processes used while the signed-in sessions acted
    replica_cpu_seconds: list[float] = field(default_factory=list)  # the same, each server process on its own
    replicas: int = 1

    @property
    def signed_in(self) -> int:
        """The sessions whose sign-in ended on their first page."""
        return sum(timed.run.status == OK for timed in self.sign_ins)

    @property
    def errors(self) -> list[str]:
        """What went wrong: sign-ins and page runs that were not OK, and sessions that failed between runs."""
        failed = [f"{timed.run.page or '/'}: {timed.run.status} {timed.run.detail}".rstrip()
                  for timed in self.sign_ins + self.runs if timed.run.status != OK]
        return failed + self.failures

    def seconds(self, page: str | None = None) -> list[float]:
        """The times of the runs that finished, of one page or of all."""
        return [timed.run.seconds for timed in self.runs
                if timed.run.status == OK and page in (None, timed.run.page)]


def percentile(values: list[float], share: float) -> float:
    """The value below which this share of the values lie (linear interpolation); 0 without values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- The server's memory -------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def server_pid(port: int, parent: int | None = None) -> int:
    """The process of this Python's descendants that runs Streamlit on that port."""
    pending = _children(parent or os.getpid())
    while pending:
        pid = pending.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in command and str(port).encode() in command:
            return pid
        pending += _children(pid)
    raise LookupError(f"no Streamlit process on port {port}")


def rss_megabytes(pid: int) -> float:
    """The resident memory of a process, in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    # A process that has exited but not been waited for has a status without memory.
    kilobytes = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return kilobytes / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far, in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command's name: state is the first field, utime and stime the 12th and 13th.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sample_memory(pids: tuple[int, ...], samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(sum(map(rss_megabytes, pids)))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


# --- What a captain or a director does ----------------------------------------------------------------------


async def _act(session: StreamlitSession, role: str, rng: random.Random) -> PageRun:
    """One action: open another of the role's pages, or change one of the current page's filters."""
    others = [page for page in PAGES_BY_ROLE[role] if page != session.page]
    filters = [key for key in FILTER_KEYS if session.options(key)]
    if not filters or rng.random() < PAGE_SHARE:
        return await session.open(rng.choice(others))
    key = rng.choice(filters)
    options = session.options(key)
    if key == "filter_places":
        # A captain looks at one municipality, then at all of them again.
        return await session.choose(key, [] if rng.random() < ALL_PLACES_SHARE else [rng.choice(options)])
    return await session.choose(key, rng.choice(options))


async def _sign_in(url: str, user: DemoUser, index: int, gate: asyncio.Semaphore,
                   result: LoadResult) -> StreamlitSession | None:
    """A session signed in through the provider, its first page shown; None (an error counted) if it failed."""
    session = StreamlitSession(url)
    async with gate:
        try:
            first = await session.sign_in(user.sub)
        except Exception as error:  # any failure of a session is an error to count, not a crash
            first = PageRun("", 0.0, 0, FAILED, f"{user.sub} (session {index}): {type(error).__name__}: {error}")
    result.sign_ins.append(TimedRun(user.roles[0], first))
    if first.status == OK:
        return session
    with suppress(Exception):  # a session already broken has nothing left to close
        await session.close()
    return None


async def _use(session: StreamlitSession, user: DemoUser, deadline: float, think: float, index: int,
               result: LoadResult) -> None:
    """One signed-in person: think, act, think again, until the deadline or a broken connection."""
    rng = random.Random(index)
    role = user.roles[0]
    # Each starts in the middle of a thought, so that fifty people do not all click in the same second.
    pause = rng.uniform(0, think * 1.5)
    try:
        while time.monotonic() + pause < deadline:
            await asyncio.sleep(pause)
            run = await _act(session, role, rng)
            result.runs.append(TimedRun(role, run))
            if run.status in (TIMEOUT, DISCONNECTED):
                break
            pause = rng.uniform(think / 2, think * 1.5)
    except Exception as error:  # any failure of a session is an error to count, not a crash
        result.failures.append(f"{user.sub} (session {index}): {type(error).__name__}: {error}")
    finally:
        with suppress(Exception):
            await session.close()


async def warm_up(url: str, users: Iterable[DemoUser]) -> None:
    """Each user once through each of their pages, so that the timed sessions meet a server already running."""

    async def visit(user: DemoUser) -> None:
        session = StreamlitSession(url)
        try:
            await session.sign_in(user.sub)
            for page in PAGES_BY_ROLE[user.roles[0]]:
                await session.open(page)
        finally:
            await session.close()

    await asyncio.gather(*map(visit, users))


async def drive(url: str, users: Iterable[DemoUser], sessions: int, seconds: float,
                pid: int | Sequence[int] | None, think: float = DEFAULT_THINK_SECONDS) -> LoadResult:
    """Sign that many sessions in, then let them all act at once for that long; every run, and the memory and CPU of
    the server process (or processes)."""
    users = list(users)
    pids = (pid,) if isinstance(pid, int) else tuple(pid or ())
    result = LoadResult(sessions, replicas=max(len(pids), 1))
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_memory(pids, result.memory, stop)) if pids else None
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)
    people = [users[index % len(users)] for index in range(sessions)]
    signed_in = await asyncio.gather(*(_sign_in(url, user, index, gate, result) for index, user in enumerate(people)))
    deadline = time.monotonic() + seconds
    used = [cpu_seconds(one) for one in pids]
    await asyncio.gather(*(_use(session, user, deadline, think, index, result)
                           for index, (session, user) in enumerate(zip(signed_in, people)) if session))
    result.replica_cpu_seconds = [cpu_seconds(one) - before for one, before in zip(pids, used)]
    result.cpu_seconds = sum(result.replica_cpu_seconds)
    if sampler:
        await asyncio.sleep(SAMPLE_SECONDS)
        stop.set()
        await sampler
    return result


# --- The table ---------------------------------------------------------------------------------------------------


def aligned(header: tuple[str, ...], rows: list[tuple[str, ...]], text_columns: int) -> str:
    """Rows under the header, the first text columns left-aligned and figures right-aligned."""
    lines = [header, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) if column < text_columns else cell.rjust(width)
                  for column, (cell, width) in enumerate(zip(line, widths))).rstrip()
        for line in lines
    )


LOAD_HEADER = ("backend", "scale", "replicas", "sessions", "signed in", "sign-in p50 ms", "pages opened", "p50 ms",
               "p95 ms", "max ms", "errors", "server CPU ms per page", "server MB start", "peak", "end")
PAGE_HEADER = ("page", "runs", "p50 ms", "p95 ms", "max ms", "median kB received")


def _milliseconds(value: float) -> str:
    return number(value * 1000)


def load_table(backend: str, scale: str, result: LoadResult) -> str:
    """The summary line under its header, then one line per page."""
    times = result.seconds()
    memory = result.memory or [0.0]
    sign_ins = [timed.run.seconds for timed in result.sign_ins if timed.run.status == OK]
    summary = (BACKEND_NAMES.get(backend, backend), scale, number(result.replicas), number(result.sessions),
               number(result.signed_in),
               _milliseconds(percentile(sign_ins, 0.5)), number(len(result.runs)),
               _milliseconds(percentile(times, 0.5)), _milliseconds(percentile(times, 0.95)),
               _milliseconds(max(times, default=0.0)), number(len(result.errors)),
               _milliseconds(result.cpu_seconds / len(result.runs) if result.runs else 0.0), number(memory[0]),
               number(max(memory)), number(memory[-1]))
    pages = sorted({timed.run.page for timed in result.runs if timed.run.status == OK})
    rows = []
    for page in pages:
        runs = [timed.run for timed in result.runs if timed.run.status == OK and timed.run.page == page]
        seconds = [run.seconds for run in runs]
        received = statistics.median(run.received for run in runs) / 1000
        rows.append((page, number(len(runs)), _milliseconds(percentile(seconds, 0.5)),
                     _milliseconds(percentile(seconds, 0.95)), _milliseconds(max(seconds)), number(received, digits=1)))
    return aligned(LOAD_HEADER, [summary], 2) + "\n\n" + aligned(PAGE_HEADER, rows, 1)


def targets_met(result: LoadResult) -> bool:
    """No error, and 95 % of the page runs under the target."""
    return not result.errors and bool(result.runs) and percentile(result.seconds(), 0.95) < TARGET_P95_SECONDS


# --- The command ---------------------------------------------------------------------------------------------


def serve_and_drive(database_url: str, users: tuple[DemoUser, ...], sessions: int, seconds: float, think: float,
                    during: Callable[[str, int], None] | None = None, replicas: int = 1) -> LoadResult:
    """The provider and the app on that database (several processes behind nginx if asked), warmed up, then driven;
    `during(url, pid)` just before, with the first app process."""
    with tempfile.TemporaryDirectory(prefix="relais-load-") as directory, ExitStack() as stack:
        folder, port = Path(directory), free_port()
        issuer = stack.enter_context(running_provider(free_port(), users, log=folder / "provider.log"))
        # Sign-in comes back to the address browsers use: the proxy's, when there is one.
        secrets_path = write_demo_secrets(folder, port, issuer)
        environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path), "DATABASE_URL": database_url}
        ports = [port] if replicas == 1 else [free_port() for _ in range(replicas)]
        logs = [folder / f"app-{number}.log" for number in range(replicas)]
        urls = [stack.enter_context(running_app(one, environment, log=log)) for one, log in zip(ports, logs)]
        pids = [server_pid(one) for one in ports]
        url = urls[0] if replicas == 1 else stack.enter_context(running_proxy(port, ports, folder))
        asyncio.run(warm_up(url, users))
        if during:
            during(url, pids[0])
        result = asyncio.run(drive(url, users, sessions, seconds, pids, think))
        if result.errors:
            for log in logs:
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
    return result


def run_load_benchmark(sessions: int, minutes: float, scale: str, backend: str, interventions: int,
                       think: float = DEFAULT_THINK_SECONDS, replicas: int = 1) -> int:
    """Serve a throwaway database (from several processes behind nginx if asked) and drive that many sessions at
    once; print the table, exit 1 on a missed target."""
    if replicas < 1:
        print(t("benchmark.load.replicas"), file=sys.stderr)
        return EXIT_USAGE
    users = PROVINCE_LOAD_USERS if scale == "province" else DEMO_LOAD_USERS
    with scratch_database(backend) as engine:
        print(f"{BACKEND_NAMES[backend]}, {scale}: loading…", file=sys.stderr, flush=True)
        print(load_line(backend, load_data(engine, scale, interventions)), flush=True)
        url = engine.url.render_as_string(hide_password=False)
        print(f"{number(sessions)} sessions for {number(minutes, digits=1)} min…", file=sys.stderr, flush=True)
        result = serve_and_drive(url, users, sessions, minutes * 60, think, replicas=replicas)
    print()
    print(load_table(backend, scale, result))
    for problem, count in Counter(result.errors).most_common(10):
        print(f"  {count} × {problem}", file=sys.stderr)
    print(t("benchmark.load.target", seconds=number(TARGET_P95_SECONDS), think=number(think)))
    if targets_met(result):
        print(t("benchmark.target.met"))
        return EXIT_OK
    print(t("benchmark.target.missed"))
    return EXIT_INVALID
