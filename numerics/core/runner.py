"""Run many independent computations — the grid points of experiments, the reports'
evidence functions — each cached on disk, serially or on a Dask cluster, with a progress bar.

A *task* is ``(function, arguments)``: a module-level function and JSON-able keyword
arguments returning JSON-able data.  :func:`run_tasks` looks every task up in the disk cache
(:mod:`derivations.cache`: keyed by the function, its arguments and a digest of all source
files; a corrupt or stale entry is computed again), computes the missing ones, stores them,
and returns all results in task order.  Where they are computed:

* ``scheduler=None, workers=1`` (or a single missing task): in this process;
* ``workers=N > 1``: a ``dask.distributed.LocalCluster`` of N single-threaded worker processes;
* ``scheduler="tcp://HOST:PORT"``: an existing Dask cluster (its workers must have flowproof
  installed at the same version).

Every result goes through one JSON round trip whichever way it was computed, and BLAS runs
single-threaded in this process as in a Dask worker (see :mod:`derivations`), so a serial, a
Dask and a cached run return equal data.  Each task sets its own precision
(``mpmath.workdps``), so worker processes share no global state.

>>> import tempfile
>>> from numerics.core.experiment import curve
>>> run_tasks([(curve, {"label": "a", "x": [1], "y": [2]})], folder=tempfile.mkdtemp(), progress=False)
[{'label': 'a', 'x': [1.0], 'y': [2.0]}]
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from derivations.cache import MISSING, function_name, lookup, store

from numerics.core.experiment import Experiment

__all__ = ["run_tasks", "run_experiment", "default_workers", "check_scheduler"]

Task = tuple[Callable[..., Any], dict]


def default_workers() -> int:
    """One worker per core (``os.cpu_count()``)."""
    return max(1, os.cpu_count() or 1)


def check_scheduler(address: Optional[str]) -> None:
    """``ValueError`` unless ``address`` is ``None`` or looks like a Dask address (``tcp://HOST:PORT``)."""
    if address is not None and "://" not in address:
        raise ValueError(f"--scheduler must be an address such as tcp://HOST:PORT, got {address!r}")


def _round_trip(result: Any) -> Any:
    return json.loads(json.dumps(result))


def _bar(total: int, description: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="run", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, leave=True)


def run_tasks(tasks: Sequence[Task], *, fresh: bool = False, cache: bool = True,
              workers: int = 1, scheduler: Optional[str] = None, progress: bool = True,
              description: str = "runs", folder: Optional[Path | str] = None) -> list:
    """The results of ``function(**arguments)`` for each task, in order (see the module
    docstring).  ``fresh``: recompute and overwrite the cache; ``cache=False``: neither read
    nor write it.  ``progress``: a tqdm bar on stderr, counting cached results as done."""
    results: list = [MISSING] * len(tasks)
    if cache and not fresh:
        for k, (function, arguments) in enumerate(tasks):
            results[k] = lookup(function_name(function), arguments, folder=folder)
    todo = [k for k, r in enumerate(results) if r is MISSING]
    bar = _bar(len(tasks), description, progress)
    bar.update(len(tasks) - len(todo))

    def finish(k: int, value: Any) -> None:
        function, arguments = tasks[k]
        results[k] = (store(function_name(function), arguments, value, folder=folder) if cache
                      else _round_trip(value))
        bar.update(1)

    try:
        if scheduler is None and (workers <= 1 or len(todo) <= 1):
            for k in todo:
                function, arguments = tasks[k]
                finish(k, function(**arguments))
        elif todo:
            _run_on_dask(tasks, todo, finish, workers=workers, scheduler=scheduler)
    finally:
        bar.close()
    return results


def _run_on_dask(tasks, todo, finish, *, workers: int, scheduler: Optional[str]) -> None:
    """Submit the missing tasks to a Dask cluster and collect them as they complete."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    logging.getLogger("distributed").setLevel(logging.ERROR)   # no scheduler chatter on stderr
    if scheduler is not None:
        client, cluster = Client(scheduler), None
    else:
        cluster = LocalCluster(n_workers=min(workers, len(todo)), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(tasks[k][0], pure=False, **tasks[k][1]): k for k in todo}
        for future in as_completed(futures):
            finish(futures[future], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_experiment(experiment: Experiment, *, quick: bool = False, **options) -> dict:
    """Run ``experiment``'s grid through :func:`run_tasks` (``options``: its keywords) and
    return the outcome as JSON: the experiment's text, its grid, and the laws, rows and
    figures of ``experiment.analyse`` with the verdict, and the seconds it took."""
    start = time.perf_counter()
    points = [dict(p) for p in experiment.grid(quick)]
    options.setdefault("description", experiment.id)
    results = run_tasks([(experiment.run, p) for p in points], **options)
    outcome = experiment.analyse(points, results, quick).as_json()
    return {"id": experiment.id, "title": experiment.title, "question": experiment.question,
            "setting": experiment.setting, "quick": quick, "points": points, **outcome,
            "seconds": round(time.perf_counter() - start, 2)}
