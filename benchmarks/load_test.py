"""A class at once: N students on one app server — latency, errors and the server's memory.

One ``streamlit run streamlit_app.py`` serves every student, as in a classroom. Each student
is a headless client of Streamlit's own websocket protocol (tests/st_client.py; no browser)
on its own thread, arriving a little after the one before, and walks the lesson with
short, seeded think times (0.3–1.5 s between actions):

    home → convolution (Next ×3) → forward pass (pick a digit, Next ×4)
         → train (250 digits, 1 epoch: Start, then the live fragment polls until the run ends)
         → saliency (pick a digit) → loss landscape (move α) → gradient descent (a learning rate),
           for those of the three pages the app has

Measured:
- latency of every action, from sending it to the ``script_finished`` of its run: median
  and 95th percentile per kind. Baseline in the same run: one student alone, same path.
  A student sends a fragment's next timer run once the last one has finished (a browser's
  timer keeps firing, but Streamlit folds the waiting ones into one: about the same load);
- errors: exceptions shown by the app, error boxes, connections that fail or drop, runs
  that never finish, ``page_not_found``, trainings that never end, tracebacks in the log;
- the server's resident memory (VmRSS, sampled every 0.5 s): at start, after a warm-up
  (two students at once, then the one alone: PyTorch, the model, the digits and both
  training workers loaded — the baseline), the peak, and after every student has left and
  the server has dropped their sessions. The server runs with a short
  ``server.disconnectedSessionTTL``; Streamlit expires stored sessions only when its storage
  is touched, so after waiting past the TTL one probe session is opened and closed; then the
  app's janitor gets 45 s to clean up (the lowest reading counts, for the baseline too).

    python benchmarks/load_test.py [--sessions 30] [--seed 0] [--stagger 6] [--ttl 5] [--use-trained]
    python benchmarks/load_test.py --through-proxy --replicas 2   # the same path through `explainer serve` (nginx)

Through the proxy, every student first asks the health check for its cookie, as the page does
(nginx keeps a browser on one replica by it) and the memory, CPU and caches are those of all replicas together.
Goals: errors 0; memory after close within 10 % of the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from tests.live_server import server_pid, streamlit_server  # noqa: E402
from tests.st_client import RunResult, RunTimeout, StreamlitClient  # noqa: E402

RUN_TIMEOUT = 120.0  # s: a run slower than this counts as never finished
STICKY = False  # through the proxy: each student fetches the page's cookie first, as a browser does
TRAIN_TIMEOUT = 300.0  # s: from Start to the finished run, queue included
ACTIONS = ("open", "navigate", "click", "set")


# --- one student ----------------------------------------------------------------------------------


@dataclass
class Student:
    """What one student's walk produced."""

    number: int
    runs: list[RunResult] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # category -> count
    details: list[str] = field(default_factory=list)
    training_seconds: float | None = None
    finished: bool = False

    @property
    def label(self) -> str:
        return f"student {self.number}" if self.number > 0 else ("alone" if self.number == 0 else "warm-up")


class Walk:
    """A student walking the lesson; every action is checked as it returns."""

    def __init__(self, tab: StreamlitClient, student: Student, rng: random.Random, think: tuple[float, float],
                 use_trained: bool = False) -> None:
        self.tab, self.student, self.rng, self.think_range, self.use_trained = tab, student, rng, think, use_trained
        self.seen_errors: set[str] = set()

    def think(self) -> None:
        time.sleep(self.rng.uniform(*self.think_range))

    def check(self, run: RunResult) -> RunResult:
        """Error boxes on the page after this run (each message once); exceptions are counted at the end."""
        for alert in self.tab.elements("alert"):
            if alert.alert.format == Alert.ERROR and alert.alert.body not in self.seen_errors:
                self.seen_errors.add(alert.alert.body)
                self.error("error box", f"{self.tab.page}: {alert.alert.body[:200]}")
        return run

    def error(self, category: str, detail: str) -> None:
        self.student.errors[category] += 1
        self.student.details.append(f"{self.student.label}: {category}: {detail}")

    def do(self, action: Callable[..., RunResult], *args: object) -> RunResult:
        self.think()
        return self.check(action(*args))


LATER_PAGES = ("saliency", "landscape", "descent")  # the explaining pages, when the app has them


def walk(w: Walk) -> None:
    """home → convolution → forward → train → the explaining pages (see the module docstring)."""
    tab, rng, student = w.tab, w.rng, w.student
    w.check(tab.open())
    w.do(tab.navigate, "convolution")
    for _ in range(3):
        w.do(tab.click, "conv_step_next")
    w.do(tab.navigate, "forward")
    digits = sorted(k for k in tab.widgets() if k.startswith("fwd_use_"))
    w.do(tab.click, rng.choice(digits))
    for _ in range(4):
        w.do(tab.click, "fwd_step_next")
    w.do(tab.navigate, "train")
    w.do(tab.set_value, "train_limit", "250")
    w.do(tab.set_value, "train_epochs", 1)
    w.do(tab.click, "train_start")
    started = time.perf_counter()
    if not tab.wait_for(lambda t: any(k.startswith("train_use_") for k in t.widgets()), TRAIN_TIMEOUT):
        w.error("training never ended", tab.text()[-200:])
        return
    student.training_seconds = time.perf_counter() - started
    w.check(tab.history[-1])  # the page the live fragment handed over to
    if w.use_trained:  # the later pages then compute for this student's own model: no cache shared with others
        w.do(tab.click, next(k for k in tab.widgets() if k.startswith("train_use_")))
    for page in [p for p in LATER_PAGES if p in tab.pages]:
        w.do(tab.navigate, page)
        PAGE_ACTIONS[page](w)


def _saliency(w: Walk) -> None:
    """Pick a digit from the gallery: its attribution maps."""
    w.do(w.tab.click, w.rng.choice(sorted(k for k in w.tab.widgets() if k.startswith("sal_use_"))))


def _landscape(w: Walk) -> None:
    """Move the α slider to another point of the plane."""
    proto = w.tab.widget("ld_alpha").proto
    steps = round((proto.max - proto.min) / proto.step)
    w.do(w.tab.set_value, "ld_alpha", round(proto.min + w.rng.randint(0, steps) * proto.step, 6))


def _descent(w: Walk) -> None:
    """Another learning rate for the one-weight descent, from the smaller half (the larger ones diverge on purpose)."""
    options = w.tab.options("gd_one_lr")
    w.do(w.tab.set_value, "gd_one_lr", w.rng.choice(options[: len(options) // 2]))


PAGE_ACTIONS: dict[str, Callable[[Walk], None]] = {"saliency": _saliency, "landscape": _landscape, "descent": _descent}


def together(url: str, students: list[Student], seed: int, every: float, think: tuple[float, float],
             use_trained: bool) -> None:
    """Walk ``students`` at once, one thread each, the next one arriving ``every`` seconds after the last."""
    threads = [threading.Thread(target=run_student, args=(url, s, seed, i * every, think, use_trained), name=f"student-{i}")
               for i, s in enumerate(students)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_student(url: str, student: Student, seed: int, start_delay: float, think: tuple[float, float],
                use_trained: bool = False) -> None:
    time.sleep(start_delay)
    try:
        tab = StreamlitClient(url, timeout=RUN_TIMEOUT, sticky=STICKY).connect()
    except (OSError, TimeoutError, ConnectionClosed) as exc:
        student.errors["failed connection"] += 1
        student.details.append(f"{student.label}: failed connection: {exc}")
        return
    current = Walk(tab, student, random.Random(seed * 10_007 + student.number), think, use_trained)
    completed = False
    try:
        walk(current)
        completed = True
    except RunTimeout as exc:
        current.error("unfinished run", str(exc))
    except ConnectionClosed as exc:
        current.error("connection dropped", str(exc))
    except (KeyError, IndexError, ValueError, StopIteration) as exc:  # a widget the path needs is missing or disabled
        current.error("step failed", f"{tab.page}: {exc!r}")
    finally:
        tab.close()
        student.runs = list(tab.history)
        for run in student.runs:  # every run, the fragments' timer runs too
            if run.exceptions:
                current.error("exception", f"{run.kind} {run.target}: {run.exceptions[0][:200]}")
            if run.page_not_found:
                current.error("page_not_found", run.target)
        student.finished = completed and not student.errors


# --- the server's memory --------------------------------------------------------------------------


def rss_mb(pid: int | list[int]) -> float:
    """Resident memory of a process (or of several together), MB."""
    if isinstance(pid, list):
        return sum(rss_mb(p) for p in pid)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int | list[int]) -> float:
    if isinstance(pid, list):
        return sum(cpu_seconds(p) for p in pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Reads the server's VmRSS every ``interval`` seconds; keeps the peak."""

    def __init__(self, pid: int | list[int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return
            self._done.wait(self.interval)

    def reset(self) -> None:
        self.peak = 0.0

    def stop(self) -> None:
        self._done.set()


def cached_data_mb(url: str | list[str]) -> dict[str, float]:
    """Memory held by each ``st.cache_data`` function, in MB, from the server's (or every replica's) ``/_stcore/metrics``."""
    if isinstance(url, list):
        total: dict[str, float] = {}
        for one in url:
            for name, mb in cached_data_mb(one).items():
                total[name] = total.get(name, 0.0) + mb
        return total
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.findall(r'^cache_memory_bytes\{cache_type="st_cache_data",cache="([^"]+)"\} (\d+)', text, re.MULTILINE)
    return {name.replace("__main__.", "page "): int(size) / 2**20 for name, size in found}


def settled_after_close(url: str | list[str], pid: int | list[int], ttl: float, settle: float = 45.0) -> float:
    """Memory once the server has dropped every closed session and cleaned up after them.

    Wait past the TTL and touch the session storage (a probe session), then give the app's
    janitor (which looks every 20 s) up to ``settle`` seconds: the lowest reading counts.
    """
    time.sleep(ttl + 1.0)
    for one in url if isinstance(url, list) else [url]:  # every replica's own storage
        with StreamlitClient(one, timeout=RUN_TIMEOUT) as probe:  # closing it expires the stored sessions
            probe.open()
    lowest = rss_mb(pid)
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        time.sleep(2.0)
        lowest = min(lowest, rss_mb(pid))
    return lowest


# --- the report -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def latency_table(runs: list[RunResult]) -> list[str]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        by_kind[run.kind].append(run.seconds)
    lines = [f"  {'action':<24}{'runs':>6}{'median':>11}{'p95':>11}{'max':>11}"]
    user = [s for kind in ACTIONS for s in by_kind.get(kind, [])]
    rows = [(k, by_kind[k]) for k in ACTIONS if by_kind.get(k)] + [("all user actions", user)]
    if by_kind.get("auto"):
        rows.append(("fragment timer runs", by_kind["auto"]))
    for name, values in rows:
        if values:
            lines.append(f"  {name:<24}{len(values):>6}{ms(statistics.median(values)):>11}"
                         f"{ms(percentile(values, 95)):>11}{ms(max(values)):>11}")
    return lines


def _action(run: RunResult) -> str:
    """The kind of action a run was, with the many gallery buttons as one (``click fwd_use_<n>``)."""
    target = re.sub(r"^(\w+_use)_\d+$", r"\1_<n>", run.target)
    return f"{run.kind} {target}"


def slowest_actions(runs: list[RunResult], n: int = 4) -> list[str]:
    groups: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run.kind in ACTIONS:
            groups[_action(run)].append(run.seconds)
    worst = sorted(groups.items(), key=lambda item: -percentile(item[1], 95))[:n]
    return [f"{name} (p95 {ms(percentile(values, 95))}, median {ms(statistics.median(values))})" for name, values in worst]


def action_table(runs: list[RunResult], alone: list[RunResult]) -> list[str]:
    """Every action of the path: its median and p95 with the class, and its time for the student alone (the server's
    own work for it, with nobody else in line)."""
    groups: dict[str, list[float]] = defaultdict(list)
    solo: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run.kind in ACTIONS:
            groups[_action(run)].append(run.seconds)
    for run in alone:
        if run.kind in ACTIONS:
            solo[_action(run)].append(run.seconds)
    lines = [f"  {'action':<28}{'runs':>6}{'median':>11}{'p95':>11}{'alone':>11}"]
    for name, values in sorted(groups.items(), key=lambda item: -statistics.median(item[1])):
        lines.append(f"  {name:<28}{len(values):>6}{ms(statistics.median(values)):>11}{ms(percentile(values, 95)):>11}"
                     f"{ms(statistics.median(solo[name])) if solo.get(name) else '—':>11}")
    return lines


def log_errors(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if "Traceback" in line or " ERROR " in line or line.startswith("ERROR")]


@contextmanager
def serving(args: argparse.Namespace, server_args: list[str], log: Path) -> Iterator[tuple[str, int | list[int], str | list[str]]]:
    """The app to load: one server, or ``--replicas`` behind nginx (``explainer serve``). Yields its URL, the process(es)
    whose memory and CPU count, and the URL(s) of each replica itself (metrics, session storage)."""
    global STICKY
    if not args.through_proxy:
        with streamlit_server(extra_args=server_args, log_path=log) as url:
            yield url, server_pid(url), url
        return
    from explainer.serve import Server
    from tests.live_server import free_port

    STICKY = True
    port = free_port()
    server = Server(replicas=args.replicas, port=port, host="127.0.0.1", first_port=port + 1, extra_args=server_args,
                    log=open(log, "w"))  # noqa: SIM115
    server.start()
    try:
        yield (f"http://127.0.0.1:{port}", [server.replica_pid(p) for p in server.replica_ports],
               [f"http://127.0.0.1:{p}" for p in server.replica_ports])
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="students at once (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stagger", type=float, default=6.0, help="seconds over which the students arrive")
    parser.add_argument("--ttl", type=float, default=5.0, help="server.disconnectedSessionTTL in seconds")
    parser.add_argument("--think", type=float, nargs=2, default=(0.3, 1.5), metavar=("MIN", "MAX"))
    parser.add_argument("--through-proxy", action="store_true", help="through `python -m explainer serve` (nginx) instead")
    parser.add_argument("--replicas", type=int, default=2, help="replicas behind the proxy (with --through-proxy)")
    parser.add_argument("--dump", type=Path, help="write every run of the class (student, kind, target, sent, seconds) as JSON lines")
    parser.add_argument("--use-trained", action="store_true",
                        help="each student makes its trained model the one every page uses (no shared caches after that)")
    args = parser.parse_args()
    think = tuple(args.think)
    log = Path(tempfile.mkdtemp(prefix="load-test-")) / "server.log"
    server_args = ["--server.disconnectedSessionTTL", str(int(args.ttl))]

    with serving(args, server_args, log) as (url, pid, replicas):
        at_start = rss_mb(pid)
        sampler = MemorySampler(pid)
        sampler.start()

        # Warm-up: two students at once load what every session shares (PyTorch, the model, the digits,
        # both training workers), on every replica (straight to each: through the proxy they could all
        # land on one, and the other would load it all while the class is measured); then one student
        # alone, through the proxy, gives the latency baseline.
        warm = []
        for number, one in enumerate(replicas if isinstance(replicas, list) else [replicas]):
            pair = [Student(-1 - 2 * number), Student(-2 - 2 * number)]
            together(one, pair, args.seed + 1, 0.0, think, args.use_trained)
            warm += pair
        alone = Student(0)
        run_student(url, alone, args.seed, 0.0, think, args.use_trained)
        baseline = settled_after_close(replicas, pid, args.ttl)
        caches_before = cached_data_mb(replicas)

        sampler.reset()
        cpu_before, client_before, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        students = [Student(i + 1) for i in range(args.sessions)]
        together(url, students, args.seed, args.stagger / max(1, args.sessions), think, args.use_trained)
        wall, server_cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu_before
        client_cpu = time.process_time() - client_before
        peak = max(sampler.peak, rss_mb(pid))
        after = settled_after_close(replicas, pid, args.ttl)
        caches_after = cached_data_mb(replicas)
        sampler.stop()
        logged = log_errors(log)

    runs = [run for s in students for run in s.runs]
    if args.dump:
        with args.dump.open("w") as out:
            for s in students:
                for run in s.runs:
                    out.write(json.dumps({"student": s.number, "kind": run.kind, "target": run.target,
                                          "sent": round(run.sent_at - t0, 4), "seconds": round(run.seconds, 4)}) + "\n")
    everyone = students + warm + [alone]
    errors = sum((s.errors for s in everyone), Counter())
    if logged:
        errors["tracebacks/errors in the server log"] = len(logged)
    total_errors = sum(errors.values())
    trainings = [s.training_seconds for s in students if s.training_seconds is not None]
    user = [r.seconds for r in runs if r.kind in ACTIONS]
    solo = [r.seconds for r in alone.runs if r.kind in ACTIONS]
    later = [p for p in LATER_PAGES if any(r.target == p for r in alone.runs)]

    where = f"{args.replicas} replicas behind nginx" if args.through_proxy else "one server"
    print(f"Load test: {args.sessions} students on {where} ({os.cpu_count()} CPU cores), seed {args.seed}, "
          f"arriving over {args.stagger:g} s, think times {think[0]:g}–{think[1]:g} s")
    print("  path: home → convolution (Next ×3) → forward (a digit, Next ×4) → train (250 digits, 1 epoch"
          + (", use it)" if args.use_trained else ")")
          + "".join(f" → {p}" for p in later) + ("" if later else "  [no saliency / landscape / descent page yet]"))
    print(f"  {wall:.0f} s wall; server CPU {server_cpu:.0f} s ({server_cpu / wall:.2f} cores busy), this load generator "
          f"{client_cpu:.0f} s; {sum(s.finished for s in students)}/{args.sessions} students walked the whole path")
    if trainings:
        print(f"  trainings: {len(trainings)}, Start → finished {ms(statistics.median(trainings))} median, "
              f"{ms(max(trainings))} max (at most 2 at once, the others wait in line)")
    print("\nlatency, send → script_finished:")
    for line in latency_table(runs):
        print(line)
    if user and solo:
        print(f"  one student alone (same path, same server): median {ms(statistics.median(solo))}, "
              f"p95 {ms(percentile(solo, 95))}  →  with {args.sessions}: p95 {ms(percentile(user, 95))}, "
              f"ratio {percentile(user, 95) / percentile(solo, 95):.1f}×")
        print("  slowest: " + "; ".join(slowest_actions(runs)))
        print("\nper action, with the class (median, p95) and for the student alone (median):")
        for line in action_table(runs, alone.runs):
            print(line)
    print(f"\nerrors {total_errors} (goal 0)" + (": " + ", ".join(f"{k} {v}" for k, v in errors.items()) if errors else ""))
    for detail in [d for s in everyone for d in s.details][:8] + logged[:4]:
        print(f"  {detail}")
    change = (after - baseline) / baseline
    print(f"\nserver memory (VmRSS): {at_start:.0f} MB at start, {baseline:.0f} MB after a warm-up visit (baseline)")
    print(f"  peak during the run {peak:.0f} MB (+{peak - baseline:.0f} MB, "
          f"{(peak - baseline) / max(1, args.sessions):.1f} MB per student)")
    print(f"  after every student left and the server dropped the sessions: {after:.0f} MB, "
          f"{change:+.1%} (goal ≤ +10 %) {'ok' if change <= 0.10 else 'NOT MET'}")
    grown = sorted(((caches_after.get(k, 0.0) - caches_before.get(k, 0.0), k) for k in caches_after), reverse=True)
    print(f"  st.cache_data holds {sum(caches_after.values()):.0f} MB after close ({sum(caches_before.values()):.0f} MB at "
          f"the baseline); grew most: " + (", ".join(f"{k} +{mb:.1f} MB" for mb, k in grown[:3] if mb >= 0.05) or "—"))
    print(f"\nsummary: errors {total_errors} (goal 0); p95 {ms(percentile(user, 95)) if user else '—'}; "
          f"memory after close {change:+.1%} (goal ≤ 10 %)")
    if logged:
        print(f"(server log: {log})")
    else:
        shutil.rmtree(log.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
