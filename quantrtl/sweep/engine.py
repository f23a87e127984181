"""Run a sweep's jobs on Dask distributed and hand each result to the client as it ends.

* ``connect(scheduler, workers, timeout)``: a ``distributed.Client``. Without a scheduler
  address, an embedded ``LocalCluster`` of ``workers`` worker processes (default one per
  core), one thread each, no dashboard. With one, the cluster at that address (its workers
  must have quantrtl installed); a scheduler that does not answer within ``timeout``
  seconds, or that has no worker within ``timeout`` seconds, is a ``ValueError``.
* ``execute(client, jobs, on_record, retries)``: submits every job (``jobs.run_job``, the
  job's ``key`` as Dask's task key, ``retries`` retries) and calls ``on_record(job,
  record)`` once per job as it finishes, in completion order. A job that still fails after
  its retries (a tool error, a mismatch, or a worker that died under it too often:
  ``KilledWorker``) gives a record with ``status: "failed"``, the tool, the log and the
  error; a job Dask cancelled (the scheduler lost it: restarted, or the client's connection
  dropped) gives one with tool ``dask`` (``cancelled_record``); the other jobs go on. A task
  whose worker dies is rescheduled by Dask on another worker, and each future completes
  once, so no job is lost or reported twice.
* ``stop_on_signal``: the handler the ``sweep`` command installs for SIGINT and SIGTERM.
  It raises ``KeyboardInterrupt`` and also sets ``STOP``, which ``execute`` checks after
  every finished job: Python drops an exception raised while a finalizer runs (a Dask
  future's ``__del__``, say), so an interrupt that lands there still ends the sweep, at
  the next finished job instead of at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from quantrtl.sweep.jobs import run_job

__all__ = ["connect", "execute", "failure_record", "cancelled_record", "stop_on_signal",
           "STOP"]

STOP = threading.Event()


def stop_on_signal(signum, frame):
    """Signal handler: set ``STOP`` and raise ``KeyboardInterrupt`` (module docstring)."""
    STOP.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int | None, timeout: float = 20.0):
    """Yield a Dask client (module docstring); closes it (and its local cluster) on exit."""
    import os

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except Exception as exc:  # OSError, TimeoutError, a malformed address
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler} within "
                             f"{timeout:g} s ({type(exc).__name__}: {exc})") from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except Exception:
                raise ValueError(f"the Dask scheduler at {scheduler} has no worker "
                                 f"(waited {timeout:g} s); start one with `dask worker "
                                 f"{scheduler}` on a machine with quantrtl installed") \
                    from None
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def failure_record(job, exc: BaseException) -> dict:
    """The record of a job that failed for good: ``ToolError`` messages start with the tool
    and end with ``log: <path>``."""
    message = str(exc) or type(exc).__name__
    name = type(exc).__name__
    if name == "KilledWorker":
        tool = "dask worker"
    elif name == "VerificationError":
        tool = "simulation"
    else:
        tool = message.split(None, 1)[0].rstrip(":") if name.startswith("Tool") else name
    log = message.rsplit("log: ", 1)[1].strip() if "log: " in message else None
    return _failed(job, tool, log, f"{name}: {message}")


def cancelled_record(job) -> dict:
    """The record of a job whose future Dask cancelled: the scheduler lost it (it restarted,
    or the client's connection to it dropped), so there is no exception and no log."""
    return _failed(job, "dask", None, "cancelled: the Dask scheduler lost the job (restarted "
                   "or disconnected); run the sweep again to compute it")


def _failed(job, tool: str, log: str | None, error: str) -> dict:
    return {"job": job.key, "kind": job.kind, "label": job.label, "design": job.design,
            "params": None, "target": job.target, "variant": job.variant, "seed": job.seed,
            "status": "failed", "tool": tool, "log": log, "error": error}


def execute(client, jobs: list, on_record, *, retries: int = 1) -> None:
    """Run ``jobs`` on ``client`` (module docstring)."""
    from distributed import as_completed

    futures = {}
    for job in jobs:
        future = client.submit(run_job, job.to_dict(), key=f"quantrtl-{job.key}",
                               retries=retries, pure=False)
        futures[future] = job
    try:
        for future in as_completed(list(futures), loop=client.loop):
            job = futures.pop(future)
            if future.status == "finished":
                record = future.result()
            elif future.status == "cancelled":
                record = cancelled_record(job)
            else:
                record = failure_record(job, future.exception())
            future.release()
            on_record(job, record)
            if STOP.is_set():  # an interrupt whose KeyboardInterrupt a finalizer dropped
                raise KeyboardInterrupt
    finally:
        for future in futures:  # an interrupt: cancel what has not ended
            future.cancel()
