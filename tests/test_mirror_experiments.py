"""The mirror-flow experiments MF-5, MF-6, MF-8, MF-9 (numerics.mirror_flow.margin_experiments,
numerics.mirror_flow.feature_experiment) and the IDX reader for local MNIST files
(numerics.mirror_flow.idx).  That each is confirmed on its quick grid is checked by
tests/test_experiments.py over the registry; here: the rows and figures they hand the report,
that their analyses say 'not confirmed' on the wrong data, and the reader on files written here."""
from __future__ import annotations

import copy
import gzip
import json
import re

import numpy as np
import pytest

from numerics.core.runner import run_experiment
from numerics.experiments import EXPERIMENTS
from numerics.mirror_flow.feature_experiment import FEATURES, feature_experiment, feature_grid, feature_point, mnist_data
from numerics.mirror_flow.idx import mnist_files, read_idx, write_idx

IDS = ("MF-5", "MF-6", "MF-8", "MF-9")
ROW_KEYS = {"quantity", "precision", "horizon", "drift", "falsifier", "falsifier_drift", "note"}
#: ASCII math that must not appear outside $…$ in labels, captions and axis labels
ASCII_MATH = re.compile(r"\^|log t|\balpha\b|\btheta\b|\bl[1-4]\b|\blinf\b")


def _outside_math(text: str) -> str:
    return "".join(re.split(r"\$[^$]*\$", text))


@pytest.fixture(scope="module")
def runs():
    """Each experiment's quick grid, run once: {id: (points, results)}."""
    out = {}
    for experiment_id in IDS:
        e = EXPERIMENTS[experiment_id]
        points = [dict(p) for p in e.grid(True)]
        out[experiment_id] = (points, json.loads(json.dumps([e.run(**p) for p in points])))
    return out


def _analyse(experiment_id, points, results):
    return EXPERIMENTS[experiment_id].analyse(points, results, True)


@pytest.mark.parametrize("experiment_id", IDS)
def test_rows_and_figures_are_in_the_report_format(runs, experiment_id):
    """Rows as the evidence's were (string fields), curves of at least two points with a label,
    images as rows of values; no ASCII math outside $…$ in labels, captions, axis labels."""
    outcome = _analyse(experiment_id, *runs[experiment_id])
    assert outcome.verdict() == "confirmed"
    assert any(l["falsifier"] for l in outcome.laws)
    for row in outcome.rows:
        assert set(row) == ROW_KEYS
        assert all(isinstance(v, str) for v in row.values())
    for fig in outcome.figures:
        texts = [fig["caption"], fig["xlabel"], fig["ylabel"]] + [s["label"] for s in fig["series"]]
        for text in texts:
            assert not ASCII_MATH.search(_outside_math(text)), text
        for s in fig["series"]:
            assert s["label"]
            if fig["kind"] == "images":
                assert len(s["values"]) >= 2 and len({len(r) for r in s["values"]}) == 1
            else:
                assert len(s["x"]) == len(s["y"]) >= 2
    json.dumps(outcome.as_json())


def test_mf5_numbers_are_those_of_the_evidence(runs):
    """The runs of MF-5 are the evidence's former ones: the same horizons and final errors."""
    points, results = runs["MF-5"]
    final = {p["potential"]: r["direction_error"][-1] for p, r in zip(points, results) if p["model"] == "linear"}
    assert final["quadratic"] == pytest.approx(1.02e-5, rel=0.01)
    assert final["cosh"] == pytest.approx(0.0585, rel=0.01)
    for p, r in zip(points, results):
        if p["model"] == "linear":
            assert r["other_error"] > 10 * r["direction_error"][-1]   # the falsifier is far
            assert min(r["gap"]) > -1e-9                              # never above the max margin


def test_mf5_not_confirmed_when_the_flow_goes_to_the_other_solution(runs):
    """Wrong data: each run's direction error and KKT residual taken against the other horizon's
    problem (as if the flow converged to the other candidate)."""
    points, results = runs["MF-5"]
    wrong = copy.deepcopy(results)
    for p, r in zip(points, wrong):
        if p["model"] == "linear":
            r["direction_error"][-1] = r["other_error"]
            r["kkt"] = r["kkt_other"]
    outcome = _analyse("MF-5", points, wrong)
    assert outcome.verdict() == "not confirmed"
    assert not outcome.laws[0]["holds"] and not outcome.laws[1]["holds"]


def test_mf6_not_confirmed_with_a_partner_of_another_horizon(runs):
    """Wrong data: the ℓ1 pair's α = 1 run replaced by the quadratic's (ℓ2) run."""
    points, results = runs["MF-6"]
    index = {(p["potential"], json.dumps(p["params"])): k for k, p in enumerate(points)}
    wrong = list(results)
    wrong[index[("hyperbolic entropy", json.dumps({"alpha": 1}))]] = results[index[("quadratic", "{}")]]
    outcome = _analyse("MF-6", points, wrong)
    assert outcome.verdict() == "not confirmed"
    assert not outcome.laws[1]["holds"]


def test_mf9_not_confirmed_with_the_depths_swapped(runs):
    points, results = runs["MF-9"]
    l1 = next(k for k, p in enumerate(points) if p["model"] == "linear" and p["potential"] == "quadratic")
    l2 = next(k for k, p in enumerate(points) if p["model"] == "2-layer linear" and p["potential"] == "quadratic")
    wrong = list(results)
    wrong[l1], wrong[l2] = {**results[l1], **{k: results[l2][k] for k in ("s", "log_t", "Q")}}, \
        {**results[l2], **{k: results[l1][k] for k in ("s", "log_t", "Q")}}
    outcome = _analyse("MF-9", points, wrong)
    assert outcome.verdict() == "not confirmed"
    assert not outcome.laws[0]["holds"] and not outcome.laws[2]["holds"]


def test_mf8_not_confirmed_with_the_l1_and_l4_runs_swapped(runs):
    points, results = runs["MF-8"]
    wrong = list(results)
    for dataset in ("xor", "digits"):
        a = next(k for k, p in enumerate(points) if p["dataset"] == dataset and p["setting"] == "l1")
        b = next(k for k, p in enumerate(points) if p["dataset"] == dataset and p["setting"] == "l4")
        wrong[a], wrong[b] = results[b], results[a]
    outcome = _analyse("MF-8", points, wrong)
    assert outcome.verdict() == "not confirmed"
    assert not any(l["holds"] for l in outcome.laws if "sparse" in l["name"] or "dense" in l["name"])


def test_mf8_images_are_the_digits_first_layer_weights(runs):
    points, results = runs["MF-8"]
    digits = [r for p, r in zip(points, results) if p["dataset"] == "digits"]
    assert all(len(r["images"]) == 16 and np.shape(r["images"][0]) == (8, 8) for r in digits)
    assert all(r["nu"] == sorted(r["nu"], reverse=True) and len(r["nu"]) == 64 for r in digits)
    images = [f for f in _analyse("MF-8", points, results).figures if f["kind"] == "images"]
    assert len(images) == 1 and len(images[0]["series"]) == 4 * 16


# ---------------------------------------------------------------------------------------
# the IDX reader

def test_idx_round_trip_and_gzip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([3, 5], dtype=np.uint8)
    write_idx(tmp_path / "images.idx", images)
    write_idx(tmp_path / "labels.idx", labels)
    assert np.array_equal(read_idx(tmp_path / "images.idx"), images)
    assert read_idx(tmp_path / "labels.idx").tolist() == [3, 5]
    (tmp_path / "images.idx.gz").write_bytes(gzip.compress((tmp_path / "images.idx").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "images.idx.gz"), images)
    assert mnist_files(f"{tmp_path / 'images.idx'},{tmp_path / 'labels.idx'}")[1] == tmp_path / "labels.idx"


@pytest.mark.parametrize("content,message", [
    (b"", "too short"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x02ab", "bad magic number"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x02abcdefgh", "data type 0x0d"),
    (b"\x00\x00\x08\x00", "at least one dimension"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00", "truncated header"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03abcde", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x02abc", "trailing bytes"),
    (b"\x1f\x8bnot really gzip", "not a readable gzip file"),
])
def test_idx_reader_refuses_corrupt_files(tmp_path, content, message):
    path = tmp_path / ("bad.idx.gz" if content.startswith(b"\x1f\x8b") else "bad.idx")
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_a_file_cut_short_is_refused(tmp_path):
    write_idx(tmp_path / "images.idx", np.ones((10, 4, 4), dtype=np.uint8))
    raw = (tmp_path / "images.idx").read_bytes()
    (tmp_path / "images.idx").write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated: 153 data bytes for shape"):
        read_idx(tmp_path / "images.idx")


def _fake_mnist(folder, per_class=3, side=4):
    """A tiny MNIST-like pair of files with the original names: digits 0..9 in turn."""
    rng = np.random.default_rng(0)
    n = 10 * per_class
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, size=(n, side, side), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))


def test_mnist_from_a_folder_and_not_in_the_default_grid(tmp_path):
    assert {p["dataset"] for p in FEATURES.grid(True)} == {"xor", "digits"}
    assert all("mnist" not in p for p in FEATURES.grid(False))
    with pytest.raises(ValueError, match="none of train-images"):
        mnist_files(str(tmp_path))
    with pytest.raises(ValueError, match="not a folder"):
        mnist_files(str(tmp_path / "missing"))
    _fake_mnist(tmp_path)
    X, y = mnist_data(str(tmp_path), per_class=3)
    assert X.shape == (6, 16) and sorted(y.tolist()) == [-1, -1, -1, 1, 1, 1]
    assert np.allclose(X.mean(axis=0), 0)
    with pytest.raises(ValueError, match="fewer than 4 images"):
        mnist_data(str(tmp_path), per_class=4)
    points = feature_grid(True, mnist=str(tmp_path))
    mnist_points = [p for p in points if p["dataset"] == "mnist"]
    assert len(mnist_points) == 5 and len(points) == len(FEATURES.grid(True)) + 5
    assert len(feature_experiment(mnist=str(tmp_path)).grid(True)) == len(points)


def test_mnist_runs_and_notices_changed_files(tmp_path, monkeypatch):
    import numerics.mirror_flow.feature_experiment as fe

    monkeypatch.setattr(fe, "PER_CLASS", 3)
    monkeypatch.setattr(fe, "mnist_data", lambda location: mnist_data(location, per_class=3))
    _fake_mnist(tmp_path)
    point = next(p for p in feature_grid(True, mnist=str(tmp_path)) if p["dataset"] == "mnist")
    out = feature_point(**{**point, "steps": 20})
    assert len(out["images"]) == 4 and np.shape(out["images"][0]) == (4, 4) and len(out["nu"]) == 64
    _fake_mnist(tmp_path, per_class=4)
    with pytest.raises(ValueError, match="changed since the grid was made"):
        feature_point(**{**point, "steps": 20})
    with pytest.raises(ValueError, match="needs mnist=PATH"):
        feature_point("mnist", "l2", 1)


def test_mnist_experiment_end_to_end_on_tiny_files(tmp_path, monkeypatch):
    """The MF-8 experiment with mnist= adds MNIST's laws, rows and images (28 x 28 images are
    drawn averaged over 2 x 2 pixels)."""
    import numerics.mirror_flow.feature_experiment as fe

    monkeypatch.setattr(fe, "mnist_data", lambda location: mnist_data(location, per_class=20))
    _fake_mnist(tmp_path, per_class=20, side=28)
    out = run_experiment(feature_experiment(mnist=str(tmp_path)), quick=True, cache=False, progress=False)
    assert sum(l["name"].startswith("mnist") for l in out["laws"]) == 3
    images = [f for f in out["figures"] if f["kind"] == "images"]
    assert len(images) == 2 and np.shape(images[1]["series"][0]["values"]) == (14, 14)
    assert len(images[1]["series"]) == 4 * 4
