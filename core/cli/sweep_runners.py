"""Where a sweep's runs execute: local worker processes, or a Dask cluster through its Client.

A run is `run_one(config, seed, source)`, a plain function of plain data, so either kind of
worker can import and call it; it never raises for a run that fails, it says so in its result,
and only the machinery around it (a worker that dies) ends in an exception on the future.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import signal
import time

from lamina.errors import LaminaError

EXTRA_HINT = "pip install 'lamina[dask]'"


def run_one(config: dict, seed: int, source: str) -> dict:
    """Train the run `lamina train` would for `config` with `seed`: its history, final values and time."""
    from lamina.cli.run_config import build_run  # in the worker, which may be a fresh process

    start = time.perf_counter()
    try:
        run = build_run(config, seed=seed, source=source)
        history = run.fit()
        if run.trainer.interrupted:
            raise LaminaError(run.trainer.stop_reason)
        test = {f"test_{name}": value for name, value in run.test().items()}
    except Exception as error:  # a run that fails is one line in the results; the others go on
        message = " ".join(str(error).split())
        return {"status": "failed", "error": f"{type(error).__name__}: {message}",
                "seconds": time.perf_counter() - start}
    final = {key: values[-1] for key, values in history.history.items() if values}
    final.update(test)
    return {
        "status": "ok",
        "error": "",
        "seconds": time.perf_counter() - start,
        "epochs": list(history.epochs),
        "history": {key: list(values) for key, values in history.history.items()},
        "final": final,
    }


def _ignore_interrupts():
    # Ctrl-C reaches the whole process group; the parent alone decides what stops, so a worker
    # never ends a run half-way and hands it back looking finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalRunner:
    """Runs on `workers` fresh local processes (concurrent.futures)."""

    def __init__(self, workers: int):
        self.slots = workers
        self.where = f"{workers} local worker process{'es' if workers != 1 else ''}"
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_interrupts,
        )

    def submit(self, function, *args):
        return self.executor.submit(function, *args)

    def completed(self, futures):
        return concurrent.futures.as_completed(futures)

    def stop(self, futures):
        """Drop the runs not finished: queued ones are cancelled, running ones ended."""
        for future in futures:
            future.cancel()
        # The pool offers no way to end a task that has started; its worker processes are
        # ours, so they are ended directly.
        for process in list(getattr(self.executor, "_processes", {}).values()):
            process.terminate()

    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """Runs on a Dask cluster: a LocalCluster of `workers` processes, or the scheduler at `address`.

    Dask retries a run whose worker died on another worker; after too many deaths it gives up on
    that run (KilledWorker), which is then reported like any other failure."""

    def __init__(self, address: str, workers: int):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise LaminaError(f"--dask needs Dask, which is not installed: {EXTRA_HINT}") from None
        self.cluster = None
        if address == "local":
            self.cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
            self.where = f"a Dask LocalCluster of {workers} worker process{'es' if workers != 1 else ''}"
        else:
            try:
                self.client = Client(address, timeout="10s")
            except (OSError, TimeoutError) as error:
                raise LaminaError(
                    f"--dask {address}: no Dask scheduler answers there ({error}); "
                    "expected 'local' or a running scheduler's address such as tcp://127.0.0.1:8786"
                ) from None
            self.where = f"the Dask scheduler at {address}"
        threads = self.client.nthreads()
        self.slots = max(1, sum(threads.values()) if threads else workers)

    def submit(self, function, *args):
        return self.client.submit(function, *args, pure=False)

    def completed(self, futures):
        from dask.distributed import as_completed

        return as_completed(futures)

    def stop(self, futures):
        self.client.cancel(list(futures))

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def runner_for(dask: str | None, workers: int):
    return DaskRunner(dask, workers) if dask else LocalRunner(workers)
