"""Sweeps: every combination of some run-config values, for each of several seeds, in parallel.

`lamina sweep CONFIG --set optimizer.weight_decay=0,0.01 --seeds 3 --out DIR` trains each run
exactly as `lamina train` would with those values (run_config.build_run, in a worker), and keeps
what finishes in DIR as it finishes: `results.csv`, one row per run, and `histories.csv`, one row
per run and epoch. Both files are rewritten whole, atomically, after every run, so a crash or a
Ctrl-C never leaves half a row; running the same sweep again skips the runs already there.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import math
import os
import statistics
import sys

from lamina.cli.run_config import SECTIONS
from lamina.cli.sweep_runners import run_one
from lamina.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

REMOVE = object()  # `--set scheduler=none`: the run has no such key
RUN_COLUMNS = ["run", "combination", "seed", "status", "seconds", "error", "config_hash"]
HISTORY_COLUMNS = ["run", "combination", "seed", "epoch"]


def parse_assignment(text: str):
    """`section.key=v1,v2` as (("section", "key"), [v1, v2]); each value is read as TOML."""
    name, equals, values = text.partition("=")
    path = tuple(part.strip() for part in name.split("."))
    if not equals or not values.strip() or not all(path):
        raise ConfigError(f"--set {text!r}: expected SECTION.KEY=V1,V2,... such as optimizer.lr=0.01,0.1")
    if path[0] not in SECTIONS:
        raise ConfigError(f"--set {text!r}: {path[0]!r} is no run-config section; expected one of {', '.join(SECTIONS)}")
    return path, [parse_value(item) for item in split_values(values)]


def split_values(text: str) -> list:
    """Split at the commas outside brackets, braces and quotes, so `[1,2],[3]` is two values."""
    items, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        current += char
    return [item.strip() for item in items + [current]]


def parse_value(item: str):
    """A TOML value (0.01, true, "Adam", { name = "StepLR", step_size = 30 }); `none` removes the
    key; any other bare word is a string, so `optimizer.name=Adam,SGD` needs no quotes."""
    if item == "none":
        return REMOVE
    try:
        return tomllib.loads(f"value = {item}")["value"]
    except tomllib.TOMLDecodeError:
        return item


def with_values(config: dict, assignments: dict) -> dict:
    """A copy of `config` with each path set to its value (tables made on the way as needed)."""
    config = copy.deepcopy(config)
    for path, value in assignments.items():
        table = config
        for key in path[:-1]:
            table = table.setdefault(key, {})
            if not isinstance(table, dict):
                raise ConfigError(f"--set {'.'.join(path)}: {key!r} is not a table in the config")
        if value is REMOVE:
            table.pop(path[-1], None)
        else:
            table[path[-1]] = value
    return config


def show(value) -> str:
    """A value as a run's name shows it: a component's table as Name(key=value, ...)."""
    if value is REMOVE:
        return "none"
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        arguments = ", ".join(f"{k}={show(v)}" for k, v in value.items() if k != "name")
        return f"{value['name']}({arguments})"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def plan(config: dict, sets: list, seeds: int) -> list:
    """One job per combination of the `--set` values and seed: (run id, combination, seed, config).

    Seeds count up from the config's own, so `--seeds 1` is the run `lamina train` makes."""
    first_seed = config.get("seed", 0)
    if isinstance(first_seed, bool) or not isinstance(first_seed, int):
        raise ConfigError(f"seed: must be an integer, got {first_seed!r}")
    paths = [path for path, _ in sets]
    jobs = []
    for values in itertools.product(*(values for _, values in sets)):
        chosen = dict(zip(paths, values))
        combination = " ".join(f"{'.'.join(p)}={show(v)}" for p, v in chosen.items()) or "(config)"
        run_config = with_values(config, chosen)
        for seed in range(first_seed, first_seed + seeds):
            digest = json.dumps([run_config, seed], sort_keys=True, default=str)
            jobs.append({
                "run": f"{combination} seed={seed}", "combination": combination, "seed": seed,
                "config": run_config, "config_hash": hashlib.sha256(digest.encode()).hexdigest()[:12],
            })
    return jobs


class Results:
    """The rows of DIR/results.csv and DIR/histories.csv, kept on disk after every change."""

    def __init__(self, folder: str):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.runs = read_rows(os.path.join(folder, "results.csv"))
        self.histories = read_rows(os.path.join(folder, "histories.csv"))

    def finished(self) -> dict:
        """run id -> config hash of the runs that finished."""
        return {row["run"]: row.get("config_hash") for row in self.runs if row.get("status") == "ok"}

    def add(self, job: dict, result: dict):
        row = {key: job[key] for key in ("run", "combination", "seed", "config_hash")}
        row.update(status=result["status"], seconds=result["seconds"], error=result.get("error", ""))
        row.update(result.get("final", {}))
        self.runs = [r for r in self.runs if r["run"] != job["run"]] + [row]
        self.histories = [r for r in self.histories if r["run"] != job["run"]]
        history = result.get("history", {})
        for index, epoch in enumerate(result.get("epochs", [])):
            line = {"run": job["run"], "combination": job["combination"], "seed": job["seed"], "epoch": epoch}
            line.update({key: values[index] for key, values in history.items() if index < len(values)})
            self.histories.append(line)
        write_rows(os.path.join(self.folder, "results.csv"), RUN_COLUMNS, self.runs)
        write_rows(os.path.join(self.folder, "histories.csv"), HISTORY_COLUMNS, self.histories)


def read_rows(path) -> list:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def write_rows(path, leading, rows):
    columns = list(leading)
    for row in rows:
        columns += [key for key in row if key not in columns]
    temporary = f"{path}.partial"
    with open(temporary, "w", newline="") as stream:
        writer = csv.DictWriter(stream, columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: repr(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows)
    os.replace(temporary, path)


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def summary_table(runs: list, combinations: list) -> str:
    """One line per combination: mean ± std over its finished seeds of the final train loss,
    the validation and test values, and the time."""
    ok = [row for row in runs if row.get("status") == "ok"]
    metrics = ["loss"]
    for row in ok:
        metrics += [k for k in row if (k.startswith("val_") or k.startswith("test_")) and k not in metrics]
    metrics.append("seconds")
    header = ["combination", "runs"] + metrics
    lines = []
    for combination in combinations:
        rows = [row for row in ok if row["combination"] == combination]
        cells = [combination, str(len(rows))]
        for metric in metrics:
            values = [number(row.get(metric)) for row in rows]
            values = [v for v in values if not math.isnan(v)]
            if not values:
                cells.append("-")
                continue
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            digits = 2 if metric == "seconds" else 4
            cells.append(f"{statistics.fmean(values):.{digits}f} ± {spread:.{digits}f}")
        lines.append(cells)
    widths = [max(len(row[i]) for row in [header] + lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header] + lines)


class Progress:
    """Runs done, running and failed: a bar on a terminal, one line per finished run elsewhere."""

    def __init__(self, total: int, slots: int, stream=None):
        self.total, self.slots, self.done, self.failed = total, slots, 0, 0
        self.stream = stream or sys.stderr
        self.bar = None
        if total and self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, file=self.stream, unit="run", dynamic_ncols=True)
            self._postfix()

    def finished(self, job, result):
        self.done += 1
        failed = result["status"] != "ok"
        self.failed += failed
        if failed:  # a failure is one line whether or not a bar is drawn
            self.write(f"run {job['run']} failed: {result['error']}")
        elif self.bar is None:
            counts = f"{self.done}/{self.total} done, {self.running()} running, {self.failed} failed"
            self.write(f"[{counts}] {job['run']}: loss {result['final'].get('loss', math.nan):.6f}, "
                       f"{result['seconds']:.2f}s")
        if self.bar is not None:
            self.bar.update(1)
            self._postfix()

    def running(self):
        return min(self.slots, self.total - self.done)

    def _postfix(self):
        self.bar.set_postfix_str(f"running {self.running()}, failed {self.failed}")

    def write(self, line):
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def sweep(config, source, sets, seeds, out, make_runner, stdout=None, stderr=None) -> int:
    """Run the sweep; print progress and the table; return the exit status (130 on Ctrl-C)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    jobs = plan(config, sets, seeds)
    results = Results(out)
    finished = results.finished()
    pending = [job for job in jobs if finished.get(job["run"]) != job["config_hash"]]
    skipped = len(jobs) - len(pending)
    runner = make_runner() if pending else None
    where = f" on {runner.where}" if runner else ""
    print(f"lamina sweep: {len(jobs)} runs, {skipped} already in {out}, {len(pending)} to run{where}",
          file=stderr, flush=True)
    status = 0
    if runner is not None:
        progress = Progress(len(pending), runner.slots, stderr)
        futures = {}
        try:
            futures = {runner.submit(run_one, job["config"], job["seed"], source): job for job in pending}
            for future in runner.completed(list(futures)):
                job = futures.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # the worker, not the run, failed (it died, say)
                    result = {"status": "failed", "seconds": 0.0,
                              "error": f"{type(error).__name__}: {' '.join(str(error).split())}"}
                results.add(job, result)
                progress.finished(job, result)
        except KeyboardInterrupt:
            runner.stop(list(futures))
            progress.close()
            done = sum(1 for row in results.runs if row.get("status") == "ok")
            print(f"lamina sweep: interrupted; {done} finished runs are kept in {out}, "
                  "run the same command again to do the rest", file=stderr, flush=True)
            status = 130
        finally:
            progress.close()
            runner.close()
    combinations = list(dict.fromkeys(job["combination"] for job in jobs))
    current = {job["run"] for job in jobs}
    print(summary_table([row for row in results.runs if row["run"] in current], combinations), file=stdout)
    failed = [row for row in results.runs if row["run"] in current and row.get("status") != "ok"]
    if failed and status == 0:
        status = 1
    draw_curves(results, out, stderr)
    return status


def draw_curves(results, out, stderr):
    """DIR/curves.png, when matplotlib is there to draw it."""
    try:
        from lamina.cli import plots

        plots.require_matplotlib()
    except Exception:
        return
    if results.histories:
        plots.curves(results.histories, None, os.path.join(out, "curves.png"))
        print(f"lamina sweep: curves in {os.path.join(out, 'curves.png')}", file=stderr)
