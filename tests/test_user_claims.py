"""A researcher's own claims, losses and potentials: the README's example file, as written there."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy as sp

from derivations import cli
from derivations.api import loss_claims, mf2_holds, user_loss
from derivations.claims import check_claim
from derivations.parsing import ParseError

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_claim_file() -> str:
    """The first Python block of the README's section on your own claims."""
    match = re.search(r"## Your own claims.*?```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert match, "the README has no claim-file example"
    return match.group(1)


def test_the_readme_claim_file_checks_and_gives_the_json_contract(tmp_path, capsys):
    path = tmp_path / "my_claims.py"
    path.write_text(readme_claim_file())
    assert cli.main(["--file", str(path), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["id"] == "MY-1" and result["group"] == "MY" and result["ok"] is True
    assert {s["verdict"] for s in result["steps"]} == {"verified"}
    assert [f["falsified"] for f in result["falsifiers"]] == [True]


def test_a_planted_mistake_in_the_readme_file_is_refuted(tmp_path, capsys):
    text = readme_claim_file().replace("(1 - eta**2 * g**2), \"collect", "(1 - eta * g**2), \"collect")
    assert text != readme_claim_file()
    path = tmp_path / "wrong_claims.py"
    path.write_text(text)
    assert cli.main(["--file", str(path)]) == 1
    assert "counterexample" in capsys.readouterr().out


@pytest.mark.parametrize("content, name, message", [
    (None, "missing.py", "expected an existing Python file"),
    ("x = 1", "claims.txt", "expected an existing Python file"),
    ("def broken(:\n", "syntax.py", "raised SyntaxError"),
    ("raise RuntimeError('no data here')", "raises.py", "raised RuntimeError: no data here"),
    ("x = 1", "empty.py", "defines no Claim"),
    ("from derivations.deep_lda import DL1 as mine", "clash.py", "the ID DL-1 is taken"),
])
def test_bad_claim_files_are_refused_with_the_reason(tmp_path, capsys, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert cli.main(["--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_your_loss_degree_zero_or_refuted_with_a_point(capsys):
    assert cli.main(["--loss", "(w1 + 2*w2)**2 / (w1**2 + w2**2)"]) == 0
    assert "2/2 claims verified" in capsys.readouterr().out
    assert cli.main(["--loss", "(w1 + 2*w2)**2 / (w1**2 + w2**2 + 1/10)", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in document] == ["refuted", "refuted"]
    assert document[0]["steps"][0]["numeric"]["counterexample"]


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "w9", "x1 + w1", "3", ""])
def test_bad_loss_text_is_refused(text, capsys):
    assert cli.main(["--loss", text]) == 2
    assert "error:" in capsys.readouterr().err


def test_loss_claims_api_and_falsifiers():
    f, d = user_loss("w1*w3/(w1**2 + w3**2)")
    assert d == 3
    results = [check_claim(c) for c in loss_claims("w1*w3/(w1**2 + w3**2)", prefix="MINE")]
    assert [r.claim.id for r in results] == ["MINE-1", "MINE-2"] and all(r.ok for r in results)
    with pytest.raises(ParseError):
        user_loss("w5")  # more coordinates than MAX_LOSS_DIM


def test_mf2_for_your_potential_on_a_network():
    assert mf2_holds("x**2/2 + x**4/4", "relu").verdict == "verified"
    assert mf2_holds("x*asinh(x/a) - sqrt(x**2 + a**2) + a", "linear", a="1/2").verdict == "verified"
    with pytest.raises(ValueError, match="unknown network"):
        mf2_holds("x**2/2", "transformer")


def test_your_activation_as_an_expression():
    from derivations.homogeneous import Activation, Network, NotHomogeneous

    cubic = Activation.from_text("z**3")
    net = Network((2, 2, 1), cubic, n_data=2, regions="mixed")
    assert (cubic.degree, net.degree) == (3, 4)
    assert mf2_holds("cosh(x) - 1", net).verdict == "verified"
    assert Activation.from_text("z", "z/5").degree == 1                  # a leaky ReLU, spelled out
    for bad in (("z + z**2", "0"), ("z**2", "z")):
        with pytest.raises(NotHomogeneous):
            Activation.from_text(*bad)
    with pytest.raises(ParseError):
        Activation.from_text("z.__class__")


def test_ids_select_among_the_file_claims_and_the_project_claims(tmp_path, capsys):
    path = tmp_path / "two_claims.py"
    path.write_text(readme_claim_file() + '\nSECOND = Claim("MY-2", "again", "again", '
                    '[("one step size", "both")], steps, GD_BALANCE.falsifiers)\n')

    def listed(*ids):
        assert cli.main(["--file", str(path), "--list", *ids]) == 0
        return [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed() == ["MY-1", "MY-2"]
    assert listed("MY-2") == ["MY-2"]
    assert listed("my") == ["MY-1", "MY-2"]
    assert listed("DL-1") == ["DL-1", "MY-1", "MY-2"]


def test_two_losses_get_their_own_ids(capsys):
    assert cli.main(["--loss", "w1/w2", "--loss", "w2/w1", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["LOSS-1", "LOSS-2", "LOSS2-1", "LOSS2-2"]


def test_your_margin_loss_as_an_expression():
    from derivations.homogeneous import margin_loss
    assert mf2_holds("cosh(x) - 1", "relu", loss="log(1 + exp(-2*q))").verdict == "verified"
    assert margin_loss("exp(-q)/2")(0) == sp.Rational(1, 2)
    with pytest.raises(ValueError, match="does not depend on the margin"):
        margin_loss("3")
    with pytest.raises(ParseError):
        margin_loss("q.__class__")


def test_the_readme_claim_file_gets_a_report(tmp_path, capsys):
    from reports import cli as reports_cli
    path = tmp_path / "my_claims.py"
    path.write_text(readme_claim_file())
    out = tmp_path / "out"
    assert reports_cli.main(["--file", str(path), "--out", str(out), "--no-pdf", "--evidence", "none"]) == 0
    tex = (out / "my_claims.tex").read_text()
    assert "MY-1" in tex and "One gradient step multiplies the balance" in tex
    assert json.loads((out / "my_claims.json").read_text())[0]["ok"] is True
    # the same from the results that python -m derivations wrote
    capsys.readouterr()
    assert cli.main(["--file", str(path), "--json"]) == 0
    results = tmp_path / "r.json"
    results.write_text(capsys.readouterr().out)
    again = tmp_path / "again"
    assert reports_cli.main(["--file", str(path), "--results", str(results), "--out", str(again), "--no-pdf"]) == 0
    assert "One gradient step multiplies the balance" in (again / "my_claims.tex").read_text()
    assert reports_cli.main(["--file", str(tmp_path / "nope.py"), "--out", str(again)]) == 2


def test_which_activations_depend_on_the_region():
    from derivations.homogeneous import LEAKY_RELU, LINEAR, RELU, SQUARED_RELU, Activation
    assert [a.uses_regions for a in (LINEAR, RELU, LEAKY_RELU, SQUARED_RELU)] == [False, True, True, True]
    assert Activation.from_text("z**3").uses_regions and not Activation.from_text("z", "z").uses_regions
