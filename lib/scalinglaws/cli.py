r"""Command line: ``scalinglaws ode ...`` and ``scalinglaws sgd ...``.

Both subcommands share the options that define a learning problem (:func:`add_common_arguments`)
and turn them into the same :class:`~scalinglaws.models.Setup` plus an initial-condition spec
(:func:`setup_from_args`); both write the same CSV (:meth:`~scalinglaws.models.Trajectory.to_csv`: a ``#`` metadata
line, then ``t,eps_g,Q11,..,R11,..``), SGD with an extra ``eps_g_se`` column (standard error over
seeds).  Time is alpha = steps/N throughout.

Every option can also come from ``--config FILE.json`` whose keys are the option names with
underscores (the Python API's names): ``K, M, eta, activation, conventions, L, beta,
spectrum, sigma, weight_decay, t_max, n_times, t_min, times, Q0, R0, T0, sigma_J, seed, teacher,
N`` and, for ``sgd``, ``seeds, n_seeds, method, block, mc_samples, n_jobs``; for ``ode``
``method, rtol, atol, dt``.  Explicit command-line options override the file.

Initial condition (in this order): physical overlaps ``Q0, R0, T0`` (config or ``--init
FILE.json``; spread over eigen-groups by :meth:`~scalinglaws.models.Overlaps.from_physical`; SGD realises them
exactly with :func:`scalinglaws.sgd.realise_overlaps`), otherwise a seeded random draw
(``sigma_J``, ``seed``, ``teacher``; the ODE starts from the overlaps of the weights that SGD seed
``seed`` starts from, which needs ``N``).

Examples::

    scalinglaws sgd -K 2 -M 2 --eta 0.5 --conventions saad-solla --N 1000 --n-seeds 8 \
        --t-max 100 --init classic.json -o sgd.csv
    scalinglaws ode --config run.json -o ode.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .conventions import PRESETS
from .errors import DivergenceError, require
from .models import Overlaps, Setup
from .spectra import Spectrum

__all__ = ["main", "build_parser", "add_common_arguments", "setup_from_args", "init_overlaps"]

# defaults applied after command line and config are merged (None on the parser = "not given")
_COMMON_DEFAULTS = {"activation": "erf", "conventions": "worschech-rosenow", "L": 1, "beta": 1.0,
                    "sigma": 0.0, "weight_decay": 0.0, "n_times": 100, "t_min": 1e-2,
                    "sigma_J": 1.0, "seed": 0, "teacher": "gaussian"}
_SGD_DEFAULTS = {"n_seeds": 1, "method": "auto", "block": 256, "mc_samples": 0}
_ODE_DEFAULTS: dict = {}  # integrator options: ode.integrate's own defaults unless given
_NOT_CONFIG = {"config", "output", "init", "command", "func", "progress"}


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``ode`` and ``sgd`` (all default to None = not given; see module doc)."""
    g = parser.add_argument_group("problem (shared by ode and sgd)")
    g.add_argument("--config", type=Path, help="JSON file with any of the options below "
                   "(keys = option names with underscores); command-line options override it")
    g.add_argument("-K", type=int, help="student hidden units")
    g.add_argument("-M", type=int, help="teacher hidden units")
    g.add_argument("--eta", type=float, help="learning rate (in the chosen conventions)")
    g.add_argument("--activation", choices=["erf", "linear"], help="g(x) (default erf(x/sqrt2))")
    g.add_argument("--conventions", help=f"output normalisation preset: one of {sorted(PRESETS)} "
                   "or none/sqrtK/K (default worschech-rosenow = 1/sqrt K)")
    g.add_argument("-L", "--L", dest="L", type=int, help="number of distinct eigenvalues "
                   "(power law l^-(1+beta), mean one; default 1 = isotropic)")
    g.add_argument("--beta", type=float, help="power-law exponent beta (> -1; default 1)")
    g.add_argument("--spectrum", help="text file: one eigenvalue per line, optional second "
                   "column = fraction of coordinates (overrides -L/--beta)")
    g.add_argument("--sigma", type=float, help="output-noise standard deviation (default 0)")
    g.add_argument("--weight-decay", dest="weight_decay", type=float, help="kappa >= 0 (default 0)")
    g.add_argument("--t-max", dest="t_max", type=float, help="final time alpha = steps/N")
    g.add_argument("--n-times", dest="n_times", type=int,
                   help="log-spaced output times (default 100)")
    g.add_argument("--t-min", dest="t_min", type=float, help="first nonzero output time (1e-2)")
    g.add_argument("--times",
                   help="explicit output times, comma separated (overrides the --t-max grid)")
    g.add_argument("--init", type=Path, help="JSON file with physical Q0, R0, T0 (K x K, K x M, "
                   "M x M) for the initial condition")
    g.add_argument("--sigma-J", dest="sigma_J", type=float,
                   help="random init: student weights ~ N(0, sigma_J^2) (default 1)")
    g.add_argument("--seed", type=int, help="random init / first SGD seed (default 0)")
    g.add_argument("--teacher", choices=["gaussian", "orthonormal"], help="teacher draw")
    g.add_argument("--N", "-N", dest="N", type=int, help="input dimension (SGD; ODE random init)")
    g.add_argument("-o", "--output", type=Path, help="CSV file (default: standard output)")
    g.add_argument("--progress", action="store_true", default=None,
                   help="force a progress bar (default: only on a terminal)")


def _load_config(args) -> dict:
    if args.config is None:
        return {}
    try:
        cfg = json.loads(Path(args.config).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"config={str(args.config)!r} is invalid: {e}") from None
    require(isinstance(cfg, dict), "config", str(args.config), "a JSON object")
    allowed = sorted(k for k in vars(args) if k not in _NOT_CONFIG) + ["Q0", "R0", "T0"]
    for k in cfg:
        require(k in allowed, "config key", k, f"one of {allowed}")
    return cfg


def _merge(args, defaults: dict) -> dict:
    """Command line > config > defaults.  Returns a plain dict of option values."""
    cfg = _load_config(args)
    out = dict(defaults)
    out.update({k: v for k, v in cfg.items()})
    out.update({k: v for k, v in vars(args).items() if v is not None and k not in ("func",)})
    if args.init is not None:
        try:
            ini = json.loads(Path(args.init).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"init={str(args.init)!r} is invalid: {e}") from None
        require(isinstance(ini, dict) and {"Q0", "R0", "T0"} <= set(ini), "init", str(args.init),
                "a JSON object with keys Q0, R0, T0 (physical overlaps)")
        out.update({k: ini[k] for k in ("Q0", "R0", "T0")})
    if isinstance(out.get("times"), str):
        try:
            out["times"] = [float(x) for x in out["times"].split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"times={out['times']!r} is invalid: comma-separated numbers"
                             ) from None
    return out


def _spectrum(opts: dict) -> Spectrum:
    spec = opts.get("spectrum")
    if spec is None:
        return Spectrum.power_law(int(opts["L"]), float(opts["beta"])) if int(opts["L"]) > 1 \
            else Spectrum.isotropic()
    if isinstance(spec, dict):
        return Spectrum(np.asarray(spec["eigenvalues"], float), spec.get("fractions"))
    if isinstance(spec, list):
        return Spectrum(np.asarray(spec, float))
    try:
        data = np.loadtxt(spec, ndmin=2)
    except (OSError, ValueError) as e:
        raise ValueError(f"spectrum={spec!r} is invalid: {e}") from None
    require(data.shape[1] in (1, 2), "spectrum", spec, "one or two columns (eigenvalue, fraction)")
    return Spectrum(data[:, 0], data[:, 1] if data.shape[1] == 2 else None)


def setup_from_args(args: argparse.Namespace, extra_defaults: dict | None = None
                    ) -> tuple[Setup, dict]:
    """Build the :class:`~scalinglaws.models.Setup` and the initial-condition spec from parsed arguments + config.

    Returns
    -------
    setup : Setup
    init_spec : dict
        ``{"kind": "overlaps", "overlaps": Overlaps}`` (from physical Q0, R0, T0) or
        ``{"kind": "random", "sigma_J", "seed", "teacher", "N"}``; plus every merged option
        under ``"options"`` (t_max, times, n_times, N, seeds, method, ...).
    """
    opts = _merge(args, {**_COMMON_DEFAULTS, **(extra_defaults or {})})
    for k in ("K", "M", "eta"):
        require(opts.get(k) is not None, k, None, f"required (give --{k if len(k) > 1 else k} "
                "or put it in --config)")
    require(opts.get("times") is not None or opts.get("t_max") is not None, "t_max", None,
            "give --t-max or --times")
    setup = Setup(int(opts["K"]), int(opts["M"]), float(opts["eta"]), opts["activation"],
                  _spectrum(opts), opts["conventions"], float(opts["sigma"]),
                  float(opts["weight_decay"]))
    if any(k in opts for k in ("Q0", "R0", "T0")):
        require(all(k in opts for k in ("Q0", "R0", "T0")), "init", "incomplete",
                "give all of Q0, R0, T0")
        try:
            ov = Overlaps.from_physical(opts["Q0"], opts["R0"], opts["T0"], setup.spectrum)
        except (TypeError, ValueError) as e:
            raise ValueError(f"init=Q0/R0/T0 is invalid: {e}") from None
        ov.validate(setup)
        spec = {"kind": "overlaps", "overlaps": ov}
    else:
        spec = {"kind": "random", "sigma_J": float(opts["sigma_J"]), "seed": int(opts["seed"]),
                "teacher": opts["teacher"], "N": opts.get("N")}
    spec["options"] = opts
    return setup, spec


def init_overlaps(setup: Setup, spec: dict) -> Overlaps:
    """Initial group overlaps for the ODE: the given ones, or those of SGD seed ``seed``'s
    initial weights (needs ``N``)."""
    if spec["kind"] == "overlaps":
        return spec["overlaps"]
    from .sgd import initial_weights

    N = spec.get("N")
    require(N is not None, "N", N, "required for a random initial condition (the ODE starts "
            "from the overlaps of one seeded draw of N-dimensional weights)")
    J, B = initial_weights(setup, int(N), [spec["seed"]], sigma_J=spec["sigma_J"],
                           teacher=spec["teacher"])
    return Overlaps.from_weights(J[0], B[0], setup.spectrum)


def _write(traj, output) -> None:
    text = traj.to_csv()
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)


# ----------------------------------------------------------------------------------------------
# subcommands
# ----------------------------------------------------------------------------------------------
def _cmd_sgd(args) -> None:
    from .sgd import simulate

    setup, spec = setup_from_args(args, _SGD_DEFAULTS)
    o = spec["options"]
    require(o.get("N") is not None, "N", None, "required for sgd (--N)")
    seeds = o.get("seeds")
    if isinstance(seeds, str):
        seeds = [int(s) for s in seeds.split(",") if s.strip()]
    kw = dict(times=o.get("times"), n_times=int(o["n_times"]), t_min=float(o["t_min"]),
              seeds=seeds, n_seeds=int(o["n_seeds"]), seed=int(o["seed"]),
              method=o["method"], block=int(o["block"]), mc_samples=int(o["mc_samples"]),
              n_jobs=o.get("n_jobs"), sigma_J=float(o["sigma_J"]), teacher=o["teacher"])
    if spec["kind"] == "overlaps":
        kw["init"] = spec["overlaps"]
    traj = simulate(setup, int(o["N"]), o.get("t_max"), **kw)
    _write(traj, o.get("output"))


# ---- ode: registered here (lead: ode.py owns the integrator; this wrapper only parses) --------
def _cmd_ode(args) -> None:
    from .ode import integrate

    setup, spec = setup_from_args(args, _ODE_DEFAULTS)
    o = spec["options"]
    init = init_overlaps(setup, spec)
    kw = {k: (o[k] if k == "method" else float(o[k]))
          for k in ("method", "rtol", "atol", "dt") if o.get(k) is not None}
    times = o.get("times")
    if times is None:
        from .ode import log_times
        times = log_times(float(o["t_max"]), n=int(o["n_times"]), t_min=float(o["t_min"]))
    traj = integrate(setup, init, t_max=o.get("t_max"), times=np.asarray(times, float), **kw)
    _write(traj, o.get("output"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description="Learning curves of two-layer "
                                "student-teacher networks: order-parameter ODEs and online SGD.")
    sub = p.add_subparsers(dest="command", required=True)

    # ---- ode subcommand -----------------------------------------------------------------------
    po = sub.add_parser("ode", help="integrate the order-parameter ODEs",
                        description="Integrate the eigen-group order-parameter ODEs "
                        "(scalinglaws.ode.integrate); CSV on a log-spaced alpha grid.")
    add_common_arguments(po)
    go = po.add_argument_group("integrator")
    go.add_argument("--method", help="integrator (default: ode.integrate's 'auto'); e.g. euler "
                    "(with --dt), ros2, bdf, or a solve_ivp method")
    go.add_argument("--rtol", type=float)
    go.add_argument("--atol", type=float)
    go.add_argument("--dt", type=float, help="Euler step")
    po.set_defaults(func=_cmd_ode)

    # ---- sgd subcommand -----------------------------------------------------------------------
    ps = sub.add_parser("sgd", help="simulate online SGD over seeds",
                        description="Online SGD of the same problem (scalinglaws.sgd.simulate), "
                        "batched over seeds; CSV with the seed mean and eps_g_se.")
    add_common_arguments(ps)
    gs = ps.add_argument_group("simulation")
    gs.add_argument("--seeds", help="comma-separated seeds (overrides --seed/--n-seeds)")
    gs.add_argument("--n-seeds", dest="n_seeds", type=int, help="seeds seed..seed+n-1 (default 1)")
    gs.add_argument("--method", choices=["auto", "numpy", "numba"], help="code path (default auto)")
    gs.add_argument("--block", type=int, help="inputs drawn per generator call (default 256)")
    gs.add_argument("--mc-samples", dest="mc_samples", type=int,
                    help="Monte-Carlo test samples per record (default 0 = closed form only)")
    gs.add_argument("--n-jobs", dest="n_jobs", type=int, help="threads over seeds")
    ps.set_defaults(func=_cmd_sgd)
    return p


def main(argv=None) -> int:
    """Entry point of the ``scalinglaws`` console command.  Exit status 0 on success, 2 for bad
    input (message names the parameter), 3 when the dynamics diverge."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.progress:
        import os
        os.environ["SCALINGLAWS_PROGRESS"] = "1"
    try:
        args.func(args)
    except ValueError as e:
        print(f"scalinglaws {args.command}: error: {e}", file=sys.stderr)
        return 2
    except DivergenceError as e:
        print(f"scalinglaws {args.command}: diverged: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
