"""The browser agent measured in Chromium: load overhead, transfer size, beacons per clicks.

    .venv/bin/python bench/agent.py [--rounds 10] [--loads 20] [--traces 15] [--clicks 200]
                                    [--leave-for site|blank] [--no-plain] [--no-idle]
                                    [--no-control]
                                    [--port PORT] [--raw FILE]

Starts rumvault as in production (gunicorn, DEBUG off, ``collectstatic`` so
whitenoise serves the agent gzipped and immutable) on a throwaway database,
with the demo shop switched on and ``fashion-store`` allowing the server's
origin, then drives Debian's Chromium with Playwright:

* load overhead, as issue 13 defines it: the demo product page's load with
  the agent (its loader tag, as the demo shop and ``beacon_key`` have it) and
  without it (``?agent=off``), median of ``--loads`` each. The load is
  ``loadEventStart`` of Navigation Timing, read in the page: the time from the
  start of the navigation to the load event, which waits for every script of
  the page (the agent's own load listener is not part of it). Every load with
  the agent waits, after the load event, until the agent runs, so that it has
  done its work and sends its beacon when the page is left, whichever tag
  brought it. The browser is a returning visitor's: one Chromium profile
  on disk, so its HTTP cache and V8's code cache work as for a real visitor
  (the agent's URL is versioned and immutable), warmed by three loads of each
  page. The pages are loaded in one tab, interleaved in a cycle in which each
  page follows every page, itself included, once (so that what a page leaves
  behind for the next load, such as its beacon reaching the server, weighs on
  every page alike; this "carry-over" is printed too); each load is left for
  ``/healthz`` (``--leave-for site``: same site, so the renderer process is
  kept, as when a visitor goes on in the shop) or ``about:blank``
  (``--leave-for blank``: a new renderer process every load), followed by a
  pause, so that the beacon the agent sends when its page is
  left is handled before the next load is timed. ``--rounds`` rounds: each
  gives a median of ``--loads`` per page and their difference; all rounds
  together give the difference of the medians and of the lower quartiles,
  with 95 % bootstrap intervals. The lower quartile is less at the mercy of
  other processes on the machine, which only ever add time.
* the agent's own tag (unless ``--no-plain``): ``<script defer src>``
  (``?agent=plain``), which puts the agent's file into the page's load.
* the agent's file alone (unless ``--no-idle``): the page with the agent's own
  tag but no key (``?agent=idle``): its file comes from the cache and runs, and
  the agent stops at once. Against the page without the agent: what the file's
  presence costs; the agent's own tag against it: what the agent's work costs.
* control (unless ``--no-control``): one more page, the page without the
  agent again (``?agent=off&control=1``), interleaved with the others and
  compared with the first page without the agent in the same way. It differs
  by nothing, so its "overhead" is the noise of the method on this machine
  at that time.
* where the agent's time goes (``--traces`` loads of each page with a
  Chromium trace, after the timed rounds; tracing slows the page, so these
  loads are not timed): the renderer main thread's work until the load event
  as thread time, i.e. CPU time, which holds on a busy machine (what the
  thread computed, not how long it waited for a CPU): all JavaScript (scripts'
  evaluation, i.e. reading the code cache or compiling, and running, and
  callbacks) with and without the agent, the agent's script's own part, and
  every traced event.
* transfer size: the agent's ``transferSize`` and ``encodedBodySize`` as
  Chromium saw them on a first, uncached load, and the file's size gzipped at
  level 9;
* beacons: ``--clicks`` clicks on one button of the product page, then the
  page is left; every beacon the agent sends is counted in the page (Playwright
  does not see the requests of a page being left).

Targets (issue 13): overhead <= 5 ms, transfer <= 10 KB gzipped, <= 5 beacons
for 200 clicks. The overhead counts as shown when the upper end of the 95 %
interval of the difference of the medians of all loads is at most 5 ms.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PROJECT, gunicorn_server, manage, production_environment
from throwaway_database import throwaway_database

from browser_agent.version import AGENT_STATIC_PATH

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
PRODUCT_PAGE = "/demo-shop/products/DRESS-42/"
VARIANTS = {
    "with agent": PRODUCT_PAGE,  # the loader tag, as beacon_key recommends
    "agent's own tag": PRODUCT_PAGE + "?agent=plain",
    "without": PRODUCT_PAGE + "?agent=off",
    "agent's file only": PRODUCT_PAGE + "?agent=idle",
    "control": PRODUCT_PAGE + "?agent=off&control=1",
}
SETTLE_MS = 250  # after each load: the page is left, its beacon reaches the server
# Where each load is left for: a page of the same site without script (the renderer
# process is kept, as when a visitor goes on in the shop), or about:blank (a new renderer
# process for every load, as for a visitor who comes back from elsewhere).
LEAVE_FOR = {"site": "/healthz", "blank": "about:blank"}
TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "v8", "blink", "loading"]
NAVIGATION = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {load: nav.loadEventStart, response: nav.responseEnd};
}"""
# The agent itself runs (not only the loader's stand-in, which has no version).
AGENT_RUNS = "() => Boolean(window.rumvault && window.rumvault.version)"
AGENT_FILE = """(agent) => {
  const script = performance.getEntriesByType('resource').find(e => e.name.endsWith(agent));
  return {cached: script ? script.transferSize === 0 : null,
          sizes: script ? {transfer: script.transferSize, encoded: script.encodedBodySize,
                           decoded: script.decodedBodySize} : {}};
}"""
WITH_AGENT = ("with agent", "agent's own tag")


def leave(page: Any, base: str, leave_for: str) -> None:
    """Leave the page (the agent's last beacon goes now) and give the server time for it."""
    target = LEAVE_FOR[leave_for]
    page.goto(target if target.startswith("about:") else base + target)
    page.wait_for_timeout(SETTLE_MS)


def timed_load(page: Any, base: str, variant: str, leave_for: str = "site") -> dict[str, Any]:
    """One load of ``variant``; what NAVIGATION reads once the load event came."""
    page.goto(base + VARIANTS[variant], wait_until="load")
    measured: dict[str, Any] = page.evaluate(NAVIGATION)
    if variant in WITH_AGENT:
        # The loader adds the agent after the load event: it has to have run (and be left
        # with its beacon) as on every page with the agent's own tag.
        page.wait_for_function(AGENT_RUNS, timeout=5000)
    elif page.evaluate(AGENT_RUNS):
        raise RuntimeError(f"{variant}: the agent ran")
    measured |= page.evaluate(AGENT_FILE, AGENT_STATIC_PATH)
    leave(page, base, leave_for)
    return measured


def quantile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0.5: the median), interpolated."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def difference_interval(
    tested: list[float], plain: list[float], share: float, resamples: int = 4000
) -> tuple[float, float, float]:
    """quantile(tested) - quantile(plain) and its 95 % bootstrap interval (each resampled
    alone)."""
    generator = random.Random(13)  # reproducible
    differences = sorted(
        quantile(generator.choices(tested, k=len(tested)), share)
        - quantile(generator.choices(plain, k=len(plain)), share)
        for _ in range(resamples)
    )
    low, high = differences[int(0.025 * resamples)], differences[int(0.975 * resamples) - 1]
    return quantile(tested, share) - quantile(plain, share), low, high


def main_thread_until_load(trace: bytes, agent: str) -> dict[str, float]:
    """From a trace of one navigation, the renderer main thread's work until the load event
    starts
    (ms of thread time, i.e. CPU time: what it computed, not how long it waited for a
    CPU): every traced event, JavaScript (scripts' evaluation and callbacks), and the
    agent's script's part of it."""
    events = json.loads(trace)["traceEvents"]
    marks = [e for e in events if e.get("name") == "MarkLoad"]
    if not marks:
        raise RuntimeError("no load event in the trace")
    load, pid = max((e["ts"], e["pid"]) for e in marks)
    threads = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
        and e["args"].get("name") == "CrRendererMain" and e["pid"] == pid
    }  # fmt: skip
    main = sorted(
        (e for e in events if (e["pid"], e["tid"]) in threads and e.get("ph") == "X"),
        key=lambda e: e["ts"],
    )
    # loadEventStart: the window's load event, the last "load" dispatched before the mark
    # (scripts fire load events of their own before it).
    load = max(
        (e["ts"] for e in main
         if e["name"] == "EventDispatch" and e["ts"] <= load
         and e.get("args", {}).get("data", {}).get("type") == "load"),
        default=load,
    )  # fmt: skip
    scripts = {  # scriptId -> URL, for function calls that name only the id
        str(e["args"]["data"].get("scriptId")): e["args"]["data"].get("url", "")
        for e in main
        if e["name"] == "v8.compile" and "data" in e.get("args", {})
    }
    totals = {"all": 0.0, "javascript": 0.0, "agent": 0.0}
    task_end = script_end = 0.0
    for event in main:
        if event["ts"] >= load:
            break
        thread_ms = event.get("tdur", event.get("dur", 0)) / 1000
        # The outermost events: tasks (RunTask) or what they ran; nested ones are inside.
        if event["ts"] >= task_end and "dur" in event:
            task_end = event["ts"] + event["dur"]
            totals["all"] += thread_ms
        if event["name"] in ("EvaluateScript", "FunctionCall") and event["ts"] >= script_end:
            script_end = event["ts"] + event["dur"]
            totals["javascript"] += thread_ms
            data = event.get("args", {}).get("data", {})
            if (data.get("url") or scripts.get(str(data.get("scriptId")), "")).endswith(agent):
                totals["agent"] += thread_ms
    return totals


def traced_loads(
    context: Any, base: str, count: int, leave_for: str
) -> dict[str, dict[str, float]]:
    """Medians over ``count`` traced loads of each of the two pages (alternating)."""
    page = context.new_page()
    results: dict[str, list[dict[str, float]]] = {"with agent": [], "without": []}
    for index in range(count * 2):
        variant = ("with agent", "without")[index % 2]
        context.browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        page.goto(base + VARIANTS[variant], wait_until="load")
        trace = context.browser.stop_tracing()
        leave(page, base, leave_for)
        results[variant].append(main_thread_until_load(trace, AGENT_STATIC_PATH))
    page.close()
    return {
        variant: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for variant, runs in results.items()
    }


# Counts, in the page, every beacon the agent sends (fetch or sendBeacon to the beacon
# endpoint), those sent while the page is being left included: Playwright does not report
# requests a page makes while it is unloaded, which are the last beacon of every page. The
# count goes to localStorage at once, so it survives the page.
COUNT_BEACONS = """(() => {
  const count = (target) => {
    if (!/\\/api\\/v1\\/rum\\/[^/]+\\/beacons\\/$/.test(String(target))) return;
    const sent = Number(localStorage.getItem("bench-beacons"));
    localStorage.setItem("bench-beacons", String(sent + 1));
  };
  const fetch = window.fetch;
  window.fetch = function (input, init) {
    count(input && input.url ? input.url : input);
    return fetch.apply(this, arguments);
  };
  const sendBeacon = navigator.sendBeacon;
  navigator.sendBeacon = function (target, body) {
    count(target);
    return sendBeacon.apply(this, arguments);
  };
})();"""


def count_beacons(browser: Any, base: str, clicks: int) -> tuple[int, int]:
    """Beacons sent by one product page on which ``clicks`` clicks were made, until it was left;
    and how long the clicking took (s)."""
    context = browser.new_context()
    context.add_init_script(COUNT_BEACONS)  # runs before the agent, which keeps this fetch
    page = context.new_page()
    page.goto(base + VARIANTS["with agent"], wait_until="load")
    button = page.get_by_role("button", name="Next photo")
    started = time.monotonic()
    for _ in range(clicks):
        button.click()
    clicking = time.monotonic() - started
    page.goto(base + VARIANTS["without"], wait_until="load")  # leaves; same origin, no agent
    sent = int(page.evaluate("Number(localStorage.getItem('bench-beacons'))"))
    context.close()
    return sent, round(clicking)


def first_load_sizes(browser: Any, base: str) -> dict[str, float]:
    """The agent's sizes as Chromium saw them on a first, uncached load."""
    context = browser.new_context()
    page = context.new_page()
    sizes: dict[str, float] = timed_load(page, base, "with agent")["sizes"]
    context.close()
    return sizes


def sequence(variants: list[str]) -> list[str]:
    """A cycle of loads in which every page follows every page, itself included, exactly
    once (an Eulerian circuit of all ordered pairs): what a page leaves behind for the next
    load (its beacon reaching the server, garbage in the renderer) then weighs on every
    page alike."""
    unused = {variant: list(variants) for variant in variants}  # the pairs still to walk
    stack, circuit = [variants[0]], []
    while stack:
        if unused[stack[-1]]:
            stack.append(unused[stack[-1]].pop())
        else:
            circuit.append(stack.pop())
    return circuit[::-1][:-1]  # the last one is the first again


Load = dict[str, Any]  # one timed load: variant, the one before it, load, response


def run_rounds(
    context: Any, base: str, variants: list[str], rounds: int, loads: int, leave_for: str
) -> tuple[list[list[Load]], int, list[float]]:
    """Interleaved timed loads, per round. Also the number of loads whose agent did not come
    from the cache, and the load averages."""
    page = context.new_page()
    for _ in range(3):  # the returning visitor: HTTP cache and V8 code cache warm
        for variant in variants:
            timed_load(page, base, variant, leave_for)
    results: list[list[Load]] = []
    uncached, load_averages = 0, []
    cycle = sequence(variants)
    position, before = 0, cycle[-1]
    for _ in range(rounds):
        load_averages.append(os.getloadavg()[0])
        done: list[Load] = []
        while min(sum(load["variant"] == v for load in done) for v in variants) < loads:
            variant = cycle[position % len(cycle)]
            position += 1
            if sum(load["variant"] == variant for load in done) == loads:
                continue  # this round has its loads of this page (3 pages: 9 per cycle)
            measured = timed_load(page, base, variant, leave_for)
            done.append({"variant": variant, "before": before, "load": measured["load"],
                         "response": measured["response"]})  # fmt: skip
            uncached += measured["cached"] is False
            before = variant
        results.append(done)
    load_averages.append(os.getloadavg()[0])
    page.close()
    return results, uncached, load_averages


def values(loads: list[Load], variant: str, key: str = "load") -> list[float]:
    return [load[key] for load in loads if load["variant"] == variant]


def report_overhead(rounds: list[list[Load]], variant: str) -> tuple[float, float]:
    """Print ``variant`` against "without": per round (medians of its loads) and pooled
    (median and lower quartile, with 95 % intervals). Returns the pooled difference of the
    medians and the upper end of its interval."""
    differences = []
    for number, loads in enumerate(rounds, start=1):
        tested = statistics.median(values(loads, variant))
        plain = statistics.median(values(loads, "without"))
        differences.append(tested - plain)
        print(f"  round {number:2}: {variant} {tested:6.1f} ms, without {plain:6.1f} ms, "
              f"difference {tested - plain:+5.1f} ms")  # fmt: skip
    print(f"  the {len(rounds)} rounds' differences: median "
          f"{statistics.median(differences):+.1f} ms, from {min(differences):+.1f} to "
          f"{max(differences):+.1f} ms")  # fmt: skip
    tested_all = [value for loads in rounds for value in values(loads, variant)]
    plain_all = [value for loads in rounds for value in values(loads, "without")]
    median, low, high = difference_interval(tested_all, plain_all, 0.5)
    print(f"  all {len(tested_all)} loads of each, median: {variant} "
          f"{quantile(tested_all, 0.5):.1f} ms, without {quantile(plain_all, 0.5):.1f} ms, "
          f"difference {median:+.1f} ms (95 % interval {low:+.1f} to {high:+.1f})")  # fmt: skip
    quartile, quartile_low, quartile_high = difference_interval(tested_all, plain_all, 0.25)
    print(f"  all {len(tested_all)} loads of each, lower quartile: {variant} "
          f"{quantile(tested_all, 0.25):.1f} ms, without {quantile(plain_all, 0.25):.1f} ms, "
          f"difference {quartile:+.1f} ms (95 % interval {quartile_low:+.1f} to "
          f"{quartile_high:+.1f})")  # fmt: skip
    return median, high


def report_carry_over(rounds: list[list[Load]]) -> None:
    """What a page with the agent leaves for the next load, whichever page that is."""
    loads = [load for round_loads in rounds for load in round_loads]
    for key, label in (("load", "load"), ("response", "responseEnd")):
        after = [load[key] for load in loads if load["before"] == "with agent"]
        other = [load[key] for load in loads if load["before"] != "with agent"]
        median, low, high = difference_interval(after, other, 0.5)
        print(f"  {label}: {len(after)} loads after a page with the agent "
              f"{quantile(after, 0.5):.1f} ms, {len(other)} after one without "
              f"{quantile(other, 0.5):.1f} ms, difference {median:+.1f} ms (95 % interval "
              f"{low:+.1f} to {high:+.1f})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--loads", type=int, default=20, help="per variant and round")
    parser.add_argument("--traces", type=int, default=15, help="traced loads per variant")
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--leave-for", choices=sorted(LEAVE_FOR), default="site",
                        help="site: the renderer process is kept between loads; blank: a "
                        "new one for every load")  # fmt: skip
    parser.add_argument("--no-control", action="store_true", help="skip the A/A control page")
    parser.add_argument("--no-idle", action="store_true", help="skip the agent's file alone")
    parser.add_argument("--no-plain", action="store_true", help="skip the agent's own tag")
    parser.add_argument("--port", type=int, default=0, help="the server's (default: a free one)")
    parser.add_argument("--raw", help="write every timed load to this JSON file")
    options = parser.parse_args()

    from playwright.sync_api import sync_playwright

    agent_file = PROJECT / "browser_agent/static" / AGENT_STATIC_PATH
    gzipped = len(gzip.compress(agent_file.read_bytes(), compresslevel=9))
    variants = ["with agent", "without"]
    variants += [] if options.no_plain else ["agent's own tag"]
    variants += [] if options.no_idle else ["agent's file only"]
    variants += [] if options.no_control else ["control"]
    with throwaway_database("rumvault_bench_agent") as database_url:
        environment = {
            **production_environment(database_url),
            "RUMVAULT_DEMO_SHOP": "true",
            "RUMVAULT_RATE_BEACON": "1000000/s",
            "RUMVAULT_RATE_BEACON_CLIENT": "1000000/s",
        }
        manage("migrate", "--noinput", "-v0", environment=environment)
        manage("collectstatic", "--noinput", "-v0", environment=environment)
        manage("create_application", "fashion-store", "--name", "Fashion Store",
               environment=environment)  # fmt: skip
        with gunicorn_server(environment, workers=2, port=options.port) as port:
            base = f"http://127.0.0.1:{port}"
            manage("configure_application", "fashion-store", "--allowed-origins", base,
                   environment=environment)  # fmt: skip
            with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                sizes = first_load_sizes(browser, base)
                beacons, seconds = count_beacons(browser, base, options.clicks)
                browser.close()
                # A profile on disk: the HTTP cache and V8's code cache of a returning visitor.
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                started = time.monotonic()
                rounds, uncached, load_averages = run_rounds(
                    context, base, variants, options.rounds, options.loads, options.leave_for
                )
                minutes = (time.monotonic() - started) / 60
                traced = (
                    traced_loads(context, base, options.traces, options.leave_for)
                    if options.traces
                    else {}
                )
                context.close()

    print(f"agent file {AGENT_STATIC_PATH}: {agent_file.stat().st_size} bytes, "
          f"{gzipped} bytes gzipped (level 9)")  # fmt: skip
    print(f"transfer in Chromium (first load): {sizes.get('transfer', 0):.0f} bytes (encoded "
          f"body {sizes.get('encoded', 0):.0f}, decoded "
          f"{sizes.get('decoded', 0):.0f})")  # fmt: skip
    print(f"product page load (loadEventStart), {options.rounds} rounds of {options.loads} loads "
          f"per variant, interleaved, returning visitor, each load left for "
          f"{LEAVE_FOR[options.leave_for]} ({minutes:.1f} min, load average "
          f"{min(load_averages):.1f} to {max(load_averages):.1f}, {uncached} loads with the "
          f"agent not from the cache):")  # fmt: skip
    print("the loader tag (the agent added after the load event) against no agent:")
    median, high = report_overhead(rounds, "with agent")
    if not options.no_plain:
        print("the agent's own tag (<script defer src>) against no agent:")
        report_overhead(rounds, "agent's own tag")
    if not options.no_idle:
        print(
            "the agent's own tag without a key (its file loaded, stops at once) against no agent:"
        )
        report_overhead(rounds, "agent's file only")
    if not options.no_control:
        print("control: the page without the agent against itself (the method's noise):")
        report_overhead(rounds, "control")
    print("carry-over: every page's load after a page with the agent and after one without:")
    report_carry_over(rounds)
    if options.raw:
        Path(options.raw).write_text(json.dumps(rounds))
    if traced:
        with_agent, without = traced["with agent"], traced["without"]
        print(f"renderer main thread until the load event, thread (CPU) time, median of "
              f"{options.traces} traced loads each: JavaScript with agent "
              f"{with_agent['javascript']:.2f} ms, without {without['javascript']:.2f} ms, "
              f"difference {with_agent['javascript'] - without['javascript']:+.2f} ms (the "
              f"agent's script itself {with_agent['agent']:.2f} ms); all traced work with agent "
              f"{with_agent['all']:.1f} ms, without {without['all']:.1f} ms, difference "
              f"{with_agent['all'] - without['all']:+.1f} ms")  # fmt: skip
    print(f"{options.clicks} clicks in {seconds} s on one page: {beacons} beacon(s)")
    shown = high <= 5
    print(f"overhead <= 5 ms: {'shown' if shown else 'NOT shown'} (difference of the medians "
          f"of all loads {median:+.1f} ms, 95 % interval up to {high:+.1f} ms)")  # fmt: skip
    ok = shown and sizes.get("transfer", 0) <= 10 * 1024 and gzipped <= 10 * 1024 and beacons <= 5
    print("targets (<= 5 ms, <= 10 KB gzipped, <= 5 beacons):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
