"""Experiments as objects (numerics.core.experiment), their runner (numerics.core.runner:
disk cache, Dask), the registered experiments on their quick grids, and the command line."""
import json

import pytest

from derivations.cache import cache_key
from numerics.core.experiment import Experiment, Outcome, curve, figure, image, law
from numerics.core.runner import run_experiment, run_tasks
from numerics.experiments import EXPERIMENTS


def _square(x):
    _square.calls.append(x)
    return {"y": x * x}


_square.calls = []


def test_a_law_holds_inside_its_tolerance_and_its_falsifier_must_leave_it():
    ok = law("slope", 1.02, expected=1, tolerance=0.1, falsifier="square loss", falsifier_measured=0.0)
    assert ok["holds"] and ok["falsified"]
    assert Outcome(laws=[ok]).verdict() == "confirmed"
    missed = law("slope", 1.2, expected=1, tolerance=0.1)
    unfalsified = law("slope", 1.0, expected=1, tolerance=0.1, falsifier="f", falsifier_measured=1.05)
    nan = law("slope", float("nan"), expected=1, tolerance=0.1)
    assert not missed["holds"] and missed["falsified"] is None
    assert unfalsified["holds"] and unfalsified["falsified"] is False
    assert not nan["holds"]
    for bad in (missed, unfalsified, nan):
        assert Outcome(laws=[ok, bad]).verdict() == "not confirmed"


def test_figures_are_checked_and_plain():
    with pytest.raises(ValueError, match="figure kind"):
        figure("c", "pie", [])
    fig = figure("c", "images", [image("$k = 1$", [[1, -1], [0, 2]])], columns=4)
    assert json.loads(json.dumps(fig)) == fig and fig["series"][0]["values"][1] == [0.0, 2.0]
    assert curve("a", [1], [2]) == {"label": "a", "x": [1.0], "y": [2.0]}


def test_tasks_are_cached_and_a_corrupt_entry_is_computed_again(tmp_path):
    _square.calls.clear()
    tasks = [(_square, {"x": 2}), (_square, {"x": 3})]
    assert run_tasks(tasks, folder=tmp_path, progress=False) == [{"y": 4}, {"y": 9}]
    assert run_tasks(tasks, folder=tmp_path, progress=False) == [{"y": 4}, {"y": 9}]
    assert _square.calls == [2, 3]
    key = cache_key(f"{_square.__module__}.{_square.__qualname__}", {"x": 3})
    (tmp_path / f"{key}.json").write_text('{"key": "' + key + '", "result": ')   # truncated write
    assert run_tasks(tasks, folder=tmp_path, progress=False) == [{"y": 4}, {"y": 9}]
    assert _square.calls == [2, 3, 3]
    (tmp_path / f"{key}.json").write_text(json.dumps({"key": "another key", "result": {"y": -1}}))
    assert run_tasks(tasks, folder=tmp_path, progress=False)[1] == {"y": 9}
    run_tasks(tasks, folder=tmp_path, progress=False, fresh=True)
    run_tasks(tasks, folder=tmp_path, progress=False, cache=False)
    assert _square.calls == [2, 3, 3, 3, 2, 3, 2, 3]


def _without_time(outcome):
    return {k: v for k, v in outcome.items() if k != "seconds"}


@pytest.mark.parametrize("experiment_id", ["DL-GD", "MF-5"])
def test_dask_gives_the_serial_results(experiment_id, tmp_path):
    """The same experiment on a Dask LocalCluster of two worker processes and in this process:
    equal outcomes to the last bit (grid, laws, rows, figures), and the cache written by Dask is
    read back.  MF-5 solves LPs and SLSQP problems with BLAS, whose rounding depends on how many
    threads OpenBLAS started with: equal only because both sides run it single-threaded."""
    experiment = EXPERIMENTS[experiment_id]
    serial = run_experiment(experiment, quick=True, cache=False, progress=False)
    dask = run_experiment(experiment, quick=True, workers=2, folder=tmp_path, progress=False)
    assert _without_time(dask) == _without_time(serial)
    assert len(list(tmp_path.glob("*.json"))) == len(serial["points"])
    again = run_experiment(experiment, quick=True, workers=2, folder=tmp_path, progress=False)
    assert _without_time(again) == _without_time(serial)


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_each_experiment_is_confirmed_on_its_quick_grid(experiment_id):
    out = run_experiment(EXPERIMENTS[experiment_id], quick=True, cache=False, progress=False)
    assert out["verdict"] == "confirmed", [l for l in out["laws"] if not l["holds"] or l["falsified"] is False]
    assert out["laws"] and out["rows"] and out["figures"]
    assert any(l["falsifier"] for l in out["laws"]), "every experiment names a falsifier"
    for fig in out["figures"]:
        assert fig["caption"] and fig["series"]
    json.dumps(out)


def test_the_laws_fail_on_the_wrong_data():
    """Each experiment's analysis can say 'not confirmed': MF-7 with the slow and the quadratic
    potentials' runs swapped, DL-GD with the square loss's runs as the Fisher loss's."""
    mf7 = EXPERIMENTS["MF-7"]
    points = mf7.grid(True)
    results = [mf7.run(**p) for p in points]
    slow = next(k for k, p in enumerate(points) if p.get("potential") == "slow" and p["route"] == "closed form")
    quad = next(k for k, p in enumerate(points) if p.get("potential") == "quadratic")
    results[slow], results[quad] = results[quad], results[slow]
    assert mf7.analyse(points, results, True).verdict() == "not confirmed"
    gd = EXPERIMENTS["DL-GD"]
    points = gd.grid(True)
    results = [gd.run(**p) for p in points]
    square = [r for p, r in zip(points, results) if p["loss"] == "square"]
    assert gd.analyse(points, square + square, True).verdict() == "not confirmed"


def test_cli_lists_runs_and_refuses_bad_input(capsys):
    from numerics import cli

    assert cli.main(["experiment", "--list"]) == 0
    assert "MF-7" in capsys.readouterr().out
    assert cli.main(["experiment", "NOPE"]) == 2
    assert "unknown experiment 'NOPE'" in capsys.readouterr().err
    assert cli.main(["experiment"]) == 2
    assert cli.main(["experiment", "DL-GD", "--scheduler", "localhost"]) == 2
    assert cli.main(["experiment", "MF-7", "--mnist", "."]) == 2
    assert cli.main(["experiment", "MF-8", "--mnist", "/no/such/folder"]) == 2
    assert "argument --mnist: /no/such/folder: not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["experiment", "DL-GD", "--workers", "0"])
    assert cli.main(["experiment", "DL-GD", "--quick", "--workers", "1", "--json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == "DL-GD" and out["verdict"] == "confirmed" and out["quick"] is True


def test_a_toy_experiment_end_to_end(tmp_path):
    def analyse(points, results, quick):
        b = results[-1]["y"] / points[-1]["x"] ** 2
        return Outcome(laws=[law("exponent", b, expected=1, tolerance=1e-12)],
                       figures=[figure("y = x^2", "loglog", [curve("$y$", [p["x"] for p in points],
                                                                  [r["y"] for r in results])])])

    toy = Experiment("EX-1", "toy", "q", "s", grid=lambda quick: [{"x": 1}, {"x": 2}], run=_square,
                     analyse=analyse)
    out = run_experiment(toy, folder=tmp_path, progress=False)
    assert out["verdict"] == "confirmed" and out["points"] == [{"x": 1}, {"x": 2}]
