"""estimate_correlators: bitwise identity across backends and resumes; checkpoints; arguments."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators
from fieldnn.errors import ArgumentError, ArgumentTypeError, CheckpointError, UnsupportedError

X = np.array([[0.1, -0.4], [0.7, 0.3], [-1.0, 0.5]])
NET = MLP("erf", widths=[2, 40, 40, 2], C_W=1.6, C_b=0.2)  # deep, two species, both layer modes
ARGS = {"orders": (2, 4), "rng": 2024, "chunk_size": 150}


def _same(a, b) -> None:
    """Bitwise equality of every tensor of two estimates."""
    assert a.n_nets == b.n_nets
    for n in range(1, max(a.orders) + 1):
        assert np.array_equal(a.full(n), b.full(n))
        assert np.array_equal(a.connected(n), b.connected(n))
        assert np.array_equal(a.stderr(n), b.stderr(n), equal_nan=True)
        assert np.array_equal(a.stderr(n, connected=False), b.stderr(n, connected=False))


def test_serial_process_pool_dask_and_threads_are_bitwise_identical() -> None:
    distributed = pytest.importorskip("distributed")
    serial = estimate_correlators(NET, X, 1000, **ARGS)
    assert serial.provenance["n_chunks"] == 7  # six full chunks and a partial one
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        _same(serial, estimate_correlators(NET, X, 1000, executor=pool, **ARGS))
        # client= takes any concurrent.futures.Executor too (dask's Client is one in spirit)
        on_pool = estimate_correlators(NET, X, 1000, client=pool, **ARGS)
        _same(serial, on_pool)
        assert on_pool.provenance["backend"].startswith("ProcessPoolExecutor")
    with ThreadPoolExecutor(3) as pool:
        _same(serial, estimate_correlators(NET, X, 1000, executor=pool, **ARGS))
        _same(serial, estimate_correlators(NET, X, 1000, client=pool, **ARGS))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = estimate_correlators(NET, X, 1000, client=client, **ARGS)
    _same(serial, on_dask)
    assert on_dask.provenance["backend"].startswith("dask")
    assert "dask" in on_dask.provenance["versions"]


def test_same_seed_identical_other_seed_differs() -> None:
    a = estimate_correlators(NET, X, 300, **ARGS)
    b = estimate_correlators(NET, X, 300, **ARGS)
    c = estimate_correlators(NET, X, 300, **{**ARGS, "rng": 2025})
    _same(a, b)
    assert not np.any(a.connected(2) == c.connected(2))


def test_checkpoint_written_resumed_and_extended(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    reference = estimate_correlators(NET, X, 1050, **ARGS)
    # a run of the first 4 chunks, then the same arguments with more networks: continues
    first = estimate_correlators(NET, X, 600, checkpoint=path, checkpoint_every=2, **ARGS)
    assert path.exists() and first.provenance["checkpoint"]["resumed_at_chunk"] is None
    resumed = estimate_correlators(NET, X, 1050, checkpoint=path, **ARGS)
    assert resumed.provenance["checkpoint"]["resumed_at_chunk"] == 4
    _same(reference, resumed)
    # a finished run returns at once from its checkpoint, identical
    _same(reference, estimate_correlators(NET, X, 1050, checkpoint=path, **ARGS))
    assert not list(tmp_path.glob("*.tmp"))  # no temporary files left behind


@pytest.mark.parametrize(
    "change",
    [
        {"rng": 1},
        {"chunk_size": 100},
        {"orders": (2, 4, 6)},
        {"X": X + 1e-12},
        {"net": MLP("erf", widths=[2, 40, 40, 2], C_W=1.6, C_b=0.21)},
        {"net": MLP("tanh", widths=[2, 40, 40, 2], C_W=1.6, C_b=0.2)},
    ],
)
def test_checkpoint_from_other_arguments_is_refused(tmp_path: Path, change: dict) -> None:
    path = tmp_path / "run.npz"
    estimate_correlators(NET, X, 300, checkpoint=path, **ARGS)
    kwargs = {**ARGS, **{k: v for k, v in change.items() if k not in ("X", "net")}}
    with pytest.raises(CheckpointError, match="different arguments"):
        estimate_correlators(
            change.get("net", NET), change.get("X", X), 300, checkpoint=path, **kwargs
        )


def test_checkpoint_not_a_prefix_or_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    estimate_correlators(NET, X, 400, checkpoint=path, **ARGS)  # ends with a partial chunk
    with pytest.raises(CheckpointError, match="not a prefix"):
        estimate_correlators(NET, X, 600, checkpoint=path, **ARGS)
    with pytest.raises(CheckpointError, match="not a prefix"):
        estimate_correlators(NET, X, 150, checkpoint=path, **ARGS)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        estimate_correlators(NET, X, 400, checkpoint=path, **ARGS)


_KILLED_RUN = textwrap.dedent(
    """
    import sys
    import numpy as np
    from fieldnn.ensembles import SingleLayerNet, estimate_correlators
    net = SingleLayerNet("erf", width=400, d_in=2, sigma_w2=1.3, sigma_b2=0.4)
    X = np.array([[0.1, -0.4], [0.7, 0.3], [-1.0, 0.5], [0.2, 0.2]])
    estimate_correlators(net, X, 16000, orders=(2, 4), rng=77, chunk_size=200,
                         checkpoint=sys.argv[1], checkpoint_every=1)
    """
)


def test_sigkill_mid_run_then_resume_is_bitwise_identical(tmp_path: Path) -> None:
    path = tmp_path / "killed.npz"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(path)], env=env)
    done = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                with np.load(path) as data:
                    done = int(data["chunks_done"])
                if done >= 2:
                    break
            time.sleep(0.005)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= done < 80
    net = SingleLayerNet("erf", width=400, d_in=2, sigma_w2=1.3, sigma_b2=0.4)
    Xk = np.array([[0.1, -0.4], [0.7, 0.3], [-1.0, 0.5], [0.2, 0.2]])
    kwargs = {"orders": (2, 4), "rng": 77, "chunk_size": 200}
    resumed = estimate_correlators(net, Xk, 16000, checkpoint=path, **kwargs)
    assert resumed.provenance["checkpoint"]["resumed_at_chunk"] >= 2
    _same(estimate_correlators(net, Xk, 16000, **kwargs), resumed)


# -- arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n_nets": 0}, "n_nets"),
        ({"orders": (2, 0)}, "orders"),
        ({"orders": (13,)}, "orders"),
        ({"orders": ()}, "orders"),
        ({"orders": (2.0,)}, "orders"),
        ({"orders": "24"}, "orders"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"rng": -3}, "rng"),
        ({"rng": np.random.default_rng(0)}, "rng"),
        ({"executor": "pool"}, "executor"),
        ({"client": object()}, "client"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    kwargs = {"n_nets": 10, **kwargs}
    n_nets = kwargs.pop("n_nets")
    with pytest.raises((ArgumentError, ArgumentTypeError)) as info:
        estimate_correlators(NET, X, n_nets, **kwargs)
    assert info.value.argument == argument


def test_bad_network_inputs_and_orders_of_results() -> None:
    with pytest.raises(ArgumentError, match="'X'"):
        estimate_correlators(NET, X[:, :1], 10)
    with pytest.raises(ArgumentError, match="'X'"):
        estimate_correlators(NET, np.where(X > 0.5, np.nan, X), 10)
    with pytest.raises(ArgumentTypeError, match="'net'"):
        estimate_correlators("erf", X, 10)
    with pytest.raises(ArgumentError, match="client"):
        estimate_correlators(NET, X, 10, client=object(), executor=ThreadPoolExecutor(1))
    with pytest.raises(UnsupportedError, match="'orders'"):  # 8e7 multisets, before sampling
        estimate_correlators(NET, np.zeros((40, 2)), 10, orders=(6,))
    est = estimate_correlators(NET, X, 20, orders=(2,), chunk_size=10)
    with pytest.raises(ArgumentError, match="'n'"):
        est.connected(3)


def test_to_dict_is_json_and_provenance_complete() -> None:
    est = estimate_correlators(NET, X, 300, **ARGS)
    d = json.loads(json.dumps(est.to_dict(), allow_nan=False))
    assert d["n_nets"] == 300 and d["orders"] == [2, 4]
    assert np.array_equal(np.array(d["connected"]["4"]), est.connected(4))
    prov = d["provenance"]
    assert prov["seed"]["entropy"] == "2024" and prov["seed"]["spawn_key"] == []
    assert prov["chunk_size"] == 150 and prov["dtype"] == "float64"
    assert {"numpy", "scipy", "fieldnn"} <= set(prov["versions"])
    assert prov["error_block_size"] == 50 and prov["n_error_blocks"] == 6
    one_block = estimate_correlators(NET, X, 60, orders=(2,), chunk_size=100).to_dict()
    assert one_block["stderr_connected"] is None  # one error block of 50: no error bars
    assert one_block["reliable"]["2"] == np.zeros((3, 3, 2, 2), dtype=bool).tolist()


@settings(max_examples=8, deadline=None)
@given(
    P=st.integers(1, 3),
    d_out=st.integers(1, 2),
    order=st.integers(2, 4),
    data=st.data(),
)
def test_estimates_are_symmetric_under_index_permutations(P, d_out, order, data) -> None:
    net = SingleLayerNet("tanh", width=3, d_in=1, d_out=d_out)
    Xh = np.linspace(-1.0, 1.0, P)[:, None]
    est = estimate_correlators(net, Xh, 100, orders=(order,), chunk_size=20, rng=P + order)
    perm = data.draw(st.permutations(range(order)))
    axes = list(perm) + ([order + p for p in perm] if d_out > 1 else [])
    for tensor in (est.full(order), est.connected(order), est.stderr(order)):
        assert np.array_equal(tensor, np.transpose(tensor, axes))


def test_progress_bar_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    net = SingleLayerNet("erf", width=4)
    estimate_correlators(net, X[:, :1], 400, orders=(2,), chunk_size=100)
    assert capsys.readouterr().err == ""
    estimate_correlators(net, X[:, :1], 400, orders=(2,), chunk_size=100, progress=True)
    assert "4/4" in capsys.readouterr().err
