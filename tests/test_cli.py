"""Tests of the ``scalinglaws`` command line (sgd subcommand and the shared option parsing)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from scalinglaws.book import cli
from scalinglaws.committee.setup import Overlaps, Setup, csv_header, trajectory_rows
from scalinglaws.committee.sgd import simulate
from scalinglaws.spectra import Spectrum

CLASSIC = {"Q0": [[0.5, 0], [0, 0.5]], "R0": [[1.01e-3, 0.99e-3], [0.99e-3, 1.01e-3]],
           "T0": [[1, 0], [0, 1]]}


def read_csv(text: str):
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    return rows[0], np.array(rows[1:], dtype=float), lines[0]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_sgd_csv_matches_python_api(tmp_path, capsys):
    (tmp_path / "init.json").write_text(json.dumps(CLASSIC))
    code, out, _ = run(["sgd", "-K", "2", "-M", "2", "--eta", "0.5", "--conventions", "saad-solla",
                        "--N", "60", "--n-seeds", "3", "--seed", "5", "--times", "0,0.5,2",
                        "--init", str(tmp_path / "init.json"), "--method", "numpy"], capsys)
    assert code == 0
    header, data, meta = read_csv(out)
    assert header == csv_header(2, 2) + ["eps_g_se"]
    assert "N=60" in meta and "n_seeds=3" in meta
    s = Setup(2, 2, 0.5, "erf", conventions="saad-solla")
    tr = simulate(s, 60, times=[0, 0.5, 2], seeds=[5, 6, 7], method="numpy", show_progress=False,
                  init=Overlaps(CLASSIC["Q0"], CLASSIC["R0"], CLASSIC["T0"]))
    np.testing.assert_allclose(data, trajectory_rows(tr), rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(data[0, 1], 0.5482100, atol=5e-8)


def test_config_keys_and_override(tmp_path, capsys):
    cfg = {"K": 2, "M": 3, "eta": 0.3, "activation": "linear", "L": 4, "beta": 1.0,
           "sigma": 0.1, "weight_decay": 0.01, "t_max": 1.0, "n_times": 4, "N": 40,
           "seeds": [2, 9], "sigma_J": 0.5, "method": "numpy"}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out_csv = tmp_path / "o.csv"
    code, _, _ = run(["sgd", "--config", str(tmp_path / "c.json"), "--eta", "0.2",
                      "-o", str(out_csv)], capsys)
    assert code == 0
    header, data, meta = read_csv(out_csv.read_text())
    assert header == csv_header(2, 3) + ["eps_g_se"] and "eta=0.2" in meta and "L=4" in meta
    s = Setup(2, 3, 0.2, "linear", spectrum=Spectrum.power_law(4, 1.0), sigma=0.1,
              weight_decay=0.01)
    tr = simulate(s, 40, 1.0, n_times=4, seeds=[2, 9], sigma_J=0.5, method="numpy",
                  show_progress=False)
    np.testing.assert_allclose(data, trajectory_rows(tr), rtol=1e-11, atol=1e-15)


def test_spectrum_file(tmp_path, capsys):
    (tmp_path / "spec.txt").write_text("2.0 0.25\n0.6666666666666666 0.75\n")
    code, out, _ = run(["sgd", "-K", "1", "-M", "1", "--eta", "0.1", "--spectrum",
                        str(tmp_path / "spec.txt"), "--N", "8", "--times", "0,1"], capsys)
    assert code == 0 and "L=2" in out.splitlines()[0]


@pytest.mark.parametrize("argv,needle", [
    (["sgd", "-K", "2", "-M", "2", "--eta", "-1", "--N", "10", "--t-max", "1"], "eta=-1.0"),
    (["sgd", "-K", "0", "-M", "2", "--eta", "1", "--N", "10", "--t-max", "1"], "K=0"),
    (["sgd", "-K", "2", "-M", "2", "--eta", "1", "--t-max", "1"], "N=None"),
    (["sgd", "-K", "2", "-M", "2", "--eta", "1", "--N", "10"], "t_max"),
    (["sgd", "-K", "2", "-M", "2", "--eta", "1", "--N", "10", "-L", "3", "--t-max", "1"], "N=10"),
    (["sgd", "-K", "2", "-M", "2", "--eta", "1", "--N", "10", "--times", "1,0"], "times"),
    (["sgd", "-M", "2", "--eta", "1", "--N", "10", "--t-max", "1"], "K=None"),
    (["sgd", "-K", "2", "-M", "2", "--eta", "1", "--N", "10", "--t-max", "1",
      "--conventions", "bogus"], "conventions='bogus'"),
])
def test_bad_input_exit_code_and_message(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert needle in err and "is invalid" in err       # names parameter, value, allowed range
    assert out == ""


def test_bad_config_key(tmp_path, capsys):
    (tmp_path / "c.json").write_text(json.dumps({"K": 2, "M": 2, "eta": 1, "lr": 3}))
    code, _, err = run(["sgd", "--config", str(tmp_path / "c.json"), "--N", "10", "--t-max", "1"],
                       capsys)
    assert code == 2 and "config key='lr'" in err


def test_divergence_exit_code(capsys):
    code, _, err = run(["sgd", "-K", "2", "-M", "2", "--eta", "6", "--activation", "linear",
                        "--N", "20", "--t-max", "20"], capsys)
    assert code == 3 and "stability bound" in err


def test_ode_subcommand_same_header(tmp_path, capsys):
    pytest.importorskip("scalinglaws.committee.ode")
    (tmp_path / "init.json").write_text(json.dumps(CLASSIC))
    code, out, err = run(["ode", "-K", "2", "-M", "2", "--eta", "0.5", "--conventions",
                          "saad-solla", "--t-max", "5", "--n-times", "5",
                          "--init", str(tmp_path / "init.json")], capsys)
    assert code == 0, err
    header, data, _ = read_csv(out)
    assert header == csv_header(2, 2)
    assert data[0, 0] == 0 and abs(data[0, 1] - 0.5482100) < 5e-8
    assert abs(data[-1, 1] - 0.0400) < 2e-3     # eps_g(5) ~ 3.998e-2 (Saad-Solla notes, sec. 3)
    # random init: the ODE starts from the overlaps of SGD seed 3's initial weights
    code, out_o, _ = run(["ode", "-K", "2", "-M", "2", "--eta", "0.1", "-L", "2", "--N", "16",
                          "--seed", "3", "--sigma-J", "0.5", "--times", "0,0.1"], capsys)
    code2, out_s, _ = run(["sgd", "-K", "2", "-M", "2", "--eta", "0.1", "-L", "2", "--N", "16",
                           "--seeds", "3", "--sigma-J", "0.5", "--times", "0,0.1"], capsys)
    assert code == code2 == 0
    np.testing.assert_allclose(read_csv(out_o)[1][0, 1:], read_csv(out_s)[1][0, 1:-1], rtol=1e-12)


def test_console_entry_point():
    r = subprocess.run([sys.executable, "-c", "import sys; from scalinglaws.book.cli import main; "
                        "sys.exit(main(['sgd', '--help']))"], capture_output=True, text=True)
    assert r.returncode == 0 and "--n-seeds" in r.stdout and "--config" in r.stdout
