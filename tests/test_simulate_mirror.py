"""``python -m numerics simulate --flow mirror --potential EXPR``: the mirror flow of Part B
from the command line (numerics.mirror_flow.simulate), and its refusals of bad input."""
import json

import pytest

from numerics import cli
from numerics.mirror_flow.mirror_map import MirrorError
from numerics.mirror_flow.simulate import parse_widths, simulate_mirror


@pytest.mark.parametrize("potential,activation", [("cosh", "linear"), ("x**2/2 + x**4/4", "squared_relu"),
                                                  ("hyperbolic entropy", "linear")])
def test_the_balances_hold_and_their_euclidean_falsifier_moves(potential, activation):
    r = simulate_mirror(potential, (2, 3, 1), activation=activation, T=1, dps=30, outputs=3)
    assert float(r["drift"]["MF-2 balance"]) < 1e-27
    assert float(r["drift"]["MF-3 dual energy identity"]) < 1e-27
    assert float(r["drift"]["Euclidean balance"]) > 1e-3
    assert r["network"]["L"] == (3 if activation == "squared_relu" else 2)


def test_widths_are_read_strictly():
    assert parse_widths("2-3-1") == (2, 3, 1)
    for bad in ("2-3", "2-3-2", "2-x-1", "0-3-1", ""):
        with pytest.raises(MirrorError):
            parse_widths(bad)
    with pytest.raises(MirrorError, match="one hidden layer"):
        simulate_mirror("cosh", (2, 2, 2, 1), activation="squared_relu")


def test_cli_runs_and_refuses(capsys):
    assert cli.main(["simulate", "--flow", "mirror", "--potential", "cosh", "--net", "2-2-1", "--T", "1/2",
                     "--dps", "20", "--json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["potential"] == "cosh" and out["network"]["parameters"] == 6
    for argv, message in [
        (["--flow", "layer", "--potential", "cosh"], "only with --flow mirror"),
        (["--flow", "mirror", "--potential", "x**3"], "even"),
        (["--flow", "mirror", "--potential", "cosh", "--loss", "fisher"], "exp or logistic"),
        (["--loss", "exp"], "mirror flow of Part B"),
        (["--flow", "mirror", "--potential", "cosh", "--net", "5-9-1"], "40 parameters"),
        (["--flow", "mirror", "--potential", "cosh", "--dps", "200"], "--dps"),
        (["--flow", "mirror", "--potential", "cosh", "--net", "2-3"], "--net must be"),
        (["--flow", "mirror", "--potential", "import os"], "cannot read the potential"),
    ]:
        assert cli.main(["simulate", "-q", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
