"""The task runner as a parameter: local (default), Dask (prefect-dask) or Ray (prefect-ray).

Tracing isolates every model in its own process whatever the runner (`nar_data.pool`): a
runner only decides where the *batches* of refs run. On Dask, worker processes must be allowed to
start children (``distributed.worker.daemon: false``); a local cluster made here sets it, a remote
cluster (``--address``) needs it in its workers' dask config (``DASK_DISTRIBUTED__WORKER__DAEMON=False``).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect


class Runner(str, Enum):
    local = "local"
    dask = "dask"
    ray = "ray"


def make_task_runner(runner: Runner | str = Runner.local, address: str | None = None, workers: int = 2) -> Any:
    """A Prefect task runner.

    Args:
        runner: ``local`` (a thread pool in this process; tracing batches start their own isolated
            processes), ``dask`` or ``ray``.
        address: scheduler address of an existing cluster (``tcp://host:8786``, ``ray://host:10001``);
            ``None`` starts a local one with ``workers`` processes.
        workers: processes of a local Dask/Ray cluster.

    Raises:
        ValueError: an unknown runner, or ``ray`` without prefect-ray installed (``pip install 'nar[ray]'``).
    """
    runner = Runner(runner) if not isinstance(runner, Runner) else runner
    if runner is Runner.local:
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max(1, workers))
    if runner is Runner.dask:
        import dask

        from prefect_dask import DaskTaskRunner

        dask.config.set({"distributed.worker.daemon": False})  # tracing workers are child processes
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                              cluster_kwargs={"n_workers": workers, "processes": True, "threads_per_worker": 1,
                                              "dashboard_address": None})
    try:
        from prefect_ray import RayTaskRunner
    except ModuleNotFoundError as e:
        raise ValueError("--runner ray needs prefect-ray and ray, which are not installed: "
                         "pip install 'nar[ray]' (or use --runner dask)") from e
    return RayTaskRunner(address=address) if address else RayTaskRunner()
