r"""Command line: ``scalinglaws ode ...`` and ``scalinglaws sgd ...``.

Both subcommands share the options that define a learning problem (:func:`add_common_arguments`)
and turn them into the same :class:`~scalinglaws.committee.setup.Setup` plus an initial-condition spec
(:func:`setup_from_args`); both write the same CSV (:func:`~scalinglaws.committee.setup.trajectory_csv`: a ``#`` metadata
line, then ``t,eps_g,Q11,..,R11,..``), SGD with an extra ``eps_g_se`` column (standard error over
seeds).  Time is alpha = steps/N throughout.

Every option can also come from ``--config FILE.json`` whose keys are the option names with
underscores (the Python API's names): ``K, M, eta, activation, conventions, L, beta,
spectrum, sigma, weight_decay, t_max, n_times, t_min, times, Q0, R0, T0, sigma_J, seed, teacher,
N, max_steps, max_memory`` and, for ``sgd``, ``seeds, n_seeds, method, block, mc_samples,
n_jobs``; for ``ode`` ``method, rtol, atol, dt``.  Explicit command-line options override the file.

Every value is checked strictly before any work (:mod:`scalinglaws.errors`): counts must be
integers (``"K": 2.5``, ``"K": true`` and ``"K": "two"`` are errors), numbers must be finite and in
range, and an option that would be ignored is refused (``--beta`` with L = 1, ``-L``/``--beta``
with ``--spectrum``, ``--dt`` with an adaptive method, ``--rtol``/``--atol`` with Euler,
``--t-max``/``--n-times``/``--t-min`` with ``--times``, ``--seed``/``--n-seeds`` with ``--seeds``,
random-init options with given overlaps).  The output folder of ``-o`` must exist.  Runs
estimated above the cost limits (``--max-steps``: SGD sample updates over all seeds, default
10^9; ODE Euler steps or right-hand-side evaluations, default 10^7; ``--max-memory``, default 4G)
are refused before they start unless the limit is raised.

Initial condition (in this order): physical overlaps ``Q0, R0, T0`` (config or ``--init
FILE.json``; spread over eigen-groups by :meth:`~scalinglaws.committee.setup.Overlaps.from_physical`; SGD realises them
exactly with :func:`scalinglaws.committee.sgd.realise_overlaps`), otherwise a seeded random draw
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
import re
import sys
from pathlib import Path

import numpy as np

from scalinglaws.conventions import PRESETS
from scalinglaws.errors import (DEFAULT_MAX_MEMORY, DivergenceError, ParameterTypeError, check_array,
                     check_choice, check_cost, check_int, check_output_path, check_real, require)
from scalinglaws.committee.setup import Overlaps, Setup, trajectory_csv
from scalinglaws.spectra import Spectrum

__all__ = ["main", "build_parser", "add_common_arguments", "setup_from_args", "init_overlaps",
           "parse_size"]

# defaults applied after command line and config are merged (None on the parser = "not given")
_COMMON_DEFAULTS = {"activation": "erf", "conventions": "worschech-rosenow", "L": 1, "beta": 1.0,
                    "sigma": 0.0, "weight_decay": 0.0, "n_times": 100, "t_min": 1e-2,
                    "sigma_J": 1.0, "seed": 0, "teacher": "gaussian"}
_SGD_DEFAULTS = {"n_seeds": 1, "method": "auto", "block": 256, "mc_samples": 0}
_ODE_DEFAULTS: dict = {}  # integrator options: ode.integrate's own defaults unless given
_NOT_CONFIG = {"config", "output", "init", "command", "func", "progress"}

# types of the options (command line, config file): checked strictly after merging
_INTS = {"K": 1, "M": 1, "L": 1, "n_times": 2, "seed": 0, "N": 1, "n_seeds": 1, "block": 1,
         "mc_samples": 0, "n_jobs": 1, "max_steps": 1}           # name: minimum
_POSITIVE = {"eta", "t_max", "t_min", "rtol", "atol", "dt"}      # finite, > 0
_NONNEG = {"sigma", "weight_decay", "sigma_J"}                   # finite, >= 0
_ODE_METHODS = ("auto", "bdf", "ros2", "euler", "RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")


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
    g.add_argument("--beta", type=float, help="power-law exponent beta (> -1; default 1; only "
                   "with L > 1)")
    g.add_argument("--spectrum", help="text file: one eigenvalue per line, optional second "
                   "column = fraction of coordinates (instead of -L/--beta)")
    g.add_argument("--sigma", type=float, help="output-noise standard deviation (default 0)")
    g.add_argument("--weight-decay", dest="weight_decay", type=float, help="kappa >= 0 (default 0)")
    g.add_argument("--t-max", dest="t_max", type=float, help="final time alpha = steps/N")
    g.add_argument("--n-times", dest="n_times", type=int,
                   help="log-spaced output times (default 100)")
    g.add_argument("--t-min", dest="t_min", type=float, help="first nonzero output time (1e-2)")
    g.add_argument("--times",
                   help="explicit output times, comma separated (instead of the --t-max grid)")
    g.add_argument("--init", type=Path, help="JSON file with physical Q0, R0, T0 (K x K, K x M, "
                   "M x M) for the initial condition")
    g.add_argument("--sigma-J", dest="sigma_J", type=float,
                   help="random init: student weights ~ N(0, sigma_J^2) (default 1)")
    g.add_argument("--seed", type=int, help="random init / first SGD seed (default 0)")
    g.add_argument("--teacher", choices=["gaussian", "orthonormal"], help="teacher draw")
    g.add_argument("--N", "-N", dest="N", type=int, help="input dimension (SGD; ODE random init)")
    g.add_argument("--max-steps", dest="max_steps", type=int,
                   help="cost limit: SGD sample updates over all seeds (default 1e9), ODE Euler "
                   "steps or right-hand-side evaluations (default 1e7); runs estimated above it "
                   "are refused before they start")
    g.add_argument("--max-memory", dest="max_memory",
                   help="memory limit of the run, bytes or with a unit (e.g. 8G, 512M; default 4G)")
    g.add_argument("-o", "--output", type=Path, help="CSV file (default: standard output); its "
                   "folder must exist")
    g.add_argument("--progress", action="store_true", default=None,
                   help="force a progress bar (default: only on a terminal)")


def parse_size(name: str, value) -> float:
    """Bytes from a number or a string with an optional binary unit: ``8G``, ``512M``, ``1e9``."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([KMGT]i?B?|B)?\s*", value)
        try:
            num = float(m.group(1)) if m else None
        except ValueError:
            num = None
        if num is None:
            raise ParameterTypeError(f"{name}={value!r} is invalid: a size in bytes, optionally "
                                     "with a unit K, M, G or T (e.g. 8G)")
        unit = (m.group(2) or "B")[0]
        value = num * {"B": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}[unit]
    return check_real(name, value, 0.0, lo_open=True)


def _load_config(args) -> dict:
    if args.config is None:
        return {}
    try:
        cfg = json.loads(Path(args.config).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"config={str(args.config)!r} is invalid: {e}") from None
    require(isinstance(cfg, dict), "config", str(args.config), "a JSON object")
    allowed = sorted(k for k in vars(args) if k not in _NOT_CONFIG) + ["Q0", "R0", "T0"]
    for k in cfg:
        require(k in allowed, "config key", k, f"one of {allowed}")
    return cfg


def _merge(args, defaults: dict) -> tuple[dict, set]:
    """Command line > config > defaults.  Returns the option values and the set of options the
    user gave (on the command line or in the config)."""
    cfg = _load_config(args)
    out = dict(defaults)
    out.update({k: v for k, v in cfg.items()})
    cli = {k: v for k, v in vars(args).items() if v is not None and k not in ("func",)}
    out.update(cli)
    given = (set(cfg) | set(cli)) - {"command", "func", "progress", "config", "output"}
    if args.init is not None:
        try:
            ini = json.loads(Path(args.init).read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"init={str(args.init)!r} is invalid: {e}") from None
        require(isinstance(ini, dict) and {"Q0", "R0", "T0"} <= set(ini), "init", str(args.init),
                "a JSON object with keys Q0, R0, T0 (physical overlaps)")
        out.update({k: ini[k] for k in ("Q0", "R0", "T0")})
        given |= {"Q0", "R0", "T0"}
    return out, given


def _number_list(name: str, value, integer: bool = False) -> list:
    """A comma-separated string or a JSON list of numbers (integers with ``integer``)."""
    kind = "integers" if integer else "numbers"
    if isinstance(value, str):
        items = [x.strip() for x in value.split(",") if x.strip()]
        try:
            value = [int(x) if integer else float(x) for x in items]
        except ValueError:
            raise ParameterTypeError(f"{name}={value!r} is invalid: comma-separated {kind}"
                                     ) from None
    if not isinstance(value, list):
        raise ParameterTypeError(f"{name}={value!r} is invalid: a list of {kind} or a "
                                 f"comma-separated string (got {type(value).__name__})")
    require(len(value) >= 1, name, value, f"at least one of the {kind}")
    for i, x in enumerate(value):
        (check_int if integer else check_real)(f"{name}[{i}]", x)
    return value


def _check_options(opts: dict, given: set, command: str) -> dict:
    """Strict type and range checks of every merged option (config values are arbitrary JSON),
    and refusal of options that would be silently ignored."""
    for k, lo in _INTS.items():
        if opts.get(k) is not None:
            opts[k] = check_int(k, opts[k], lo)
    for k in _POSITIVE:
        if opts.get(k) is not None:
            opts[k] = check_real(k, opts[k], 0.0, lo_open=True)
    for k in _NONNEG:
        if opts.get(k) is not None:
            opts[k] = check_real(k, opts[k], 0.0)
    if opts.get("beta") is not None:
        opts["beta"] = check_real("beta", opts["beta"], -1.0, lo_open=True)
    if opts.get("max_memory") is not None:
        opts["max_memory"] = parse_size("max_memory", opts["max_memory"])
    check_choice("activation", opts["activation"], ("erf", "linear"))
    check_choice("teacher", opts["teacher"], ("gaussian", "orthonormal"))
    if not isinstance(opts["conventions"], str):
        raise ParameterTypeError(f"conventions={opts['conventions']!r} is invalid: one of "
                                 f"{sorted(PRESETS)} or none/sqrtK/K")
    if opts.get("method") is not None:
        check_choice("method", opts["method"],
                     ("auto", "numpy", "numba") if command == "sgd" else _ODE_METHODS)
    if opts.get("times") is not None:
        opts["times"] = _number_list("times", opts["times"])
    if opts.get("seeds") is not None:
        opts["seeds"] = _number_list("seeds", opts["seeds"], integer=True)

    def refuse(name, why):
        raise ValueError(f"{name}={opts[name]!r} is invalid: {why}")

    spec = opts.get("spectrum")
    if spec is not None:
        if not isinstance(spec, (str, list, dict)):
            raise ParameterTypeError(f"spectrum={spec!r} is invalid: a file name, a list of "
                                     "eigenvalues or {'eigenvalues': [...], 'fractions': [...]}")
        for k in ("L", "beta"):
            if k in given:
                refuse(k, "not used together with --spectrum (the spectrum file defines the "
                       "eigenvalues); give one of them")
    elif opts["L"] == 1 and "beta" in given:
        refuse("beta", "has no effect with L=1 (isotropic inputs); give -L > 1 for a power "
               "law, or drop --beta")
    if opts.get("times") is not None:
        for k in ("t_max", "n_times", "t_min"):
            if k in given:
                refuse(k, "not used together with --times (explicit output times); give one")
    if command == "sgd" and "seeds" in given:
        for k in ("seed", "n_seeds"):
            if k in given:
                refuse(k, "not used together with --seeds (explicit seed list); give one")
    if {"Q0", "R0", "T0"} & given:
        unused = ("sigma_J", "teacher") + (("seed", "N") if command == "ode" else ())
        for k in unused:
            if k in given:
                refuse(k, "not used with given initial overlaps Q0, R0, T0 (--init or config); "
                       "drop one of them")
    if command == "ode":
        method = opts.get("method") or "auto"
        if method == "euler":
            for k in ("rtol", "atol"):
                if k in given:
                    refuse(k, "not used by method='euler' (fixed step --dt)")
        elif "dt" in given:
            refuse("dt", f"only used by --method euler (method {method!r} chooses its own steps;"
                   " control it with --rtol/--atol)")
    else:
        if opts.get("method") == "numpy" and "n_jobs" in given:
            refuse("n_jobs", "only used by --method numba/auto (threads over seeds)")
    return opts


def _spectrum(opts: dict) -> Spectrum:
    spec = opts.get("spectrum")
    if spec is None:
        L = opts["L"]
        return Spectrum.power_law(L, opts["beta"]) if L > 1 else Spectrum.isotropic()
    if isinstance(spec, dict):
        require(set(spec) <= {"eigenvalues", "fractions"} and "eigenvalues" in spec, "spectrum",
                spec, "{'eigenvalues': [...], 'fractions': [...] (optional)}")
        return Spectrum(spec["eigenvalues"], spec.get("fractions"))
    if isinstance(spec, list):
        return Spectrum(spec)
    try:
        data = np.loadtxt(spec, ndmin=2)
    except (OSError, ValueError) as e:
        raise ValueError(f"spectrum={spec!r} is invalid: {e}") from None
    require(data.ndim == 2 and data.shape[0] >= 1 and data.shape[1] in (1, 2), "spectrum", spec,
            "one or two columns (eigenvalue, fraction)")
    return Spectrum(data[:, 0], data[:, 1] if data.shape[1] == 2 else None)


def setup_from_args(args: argparse.Namespace, extra_defaults: dict | None = None
                    ) -> tuple[Setup, dict]:
    """Build the :class:`~scalinglaws.committee.setup.Setup` and the initial-condition spec from parsed arguments + config.

    Every option is type- and range-checked first (a config's ``"K": 2.5`` or ``"K": true`` is an
    error, not K = 2 or 1), and options that would be ignored (``--beta`` with L = 1, ``--dt`` with
    an adaptive method, ``--t-max`` with ``--times``, ...) are refused.

    Returns
    -------
    setup : Setup
    init_spec : dict
        ``{"kind": "overlaps", "overlaps": Overlaps}`` (from physical Q0, R0, T0) or
        ``{"kind": "random", "sigma_J", "seed", "teacher", "N"}``; plus every merged option
        under ``"options"`` (t_max, times, n_times, N, seeds, method, ...).
    """
    opts, given = _merge(args, {**_COMMON_DEFAULTS, **(extra_defaults or {})})
    command = getattr(args, "command", None) or ("sgd" if "n_seeds" in (extra_defaults or {})
                                                 else "ode")
    for k in ("K", "M", "eta"):
        require(opts.get(k) is not None, k, None, f"required (give --{k if len(k) > 1 else k} "
                "or put it in --config)")
    require(opts.get("times") is not None or opts.get("t_max") is not None, "t_max", None,
            "give --t-max or --times")
    opts = _check_options(opts, given, command)
    if opts.get("output") is not None:
        check_output_path("output", opts["output"])
    setup = Setup(opts["K"], opts["M"], opts["eta"], opts["activation"], _spectrum(opts),
                  opts["conventions"], opts["sigma"], opts["weight_decay"])
    if any(k in opts for k in ("Q0", "R0", "T0")):
        require(all(k in opts for k in ("Q0", "R0", "T0")), "init", "incomplete",
                "give all of Q0, R0, T0")
        for k in ("Q0", "R0", "T0"):
            check_array(k, opts[k], ndim=(0, 1, 2))
        try:
            ov = Overlaps.from_physical(opts["Q0"], opts["R0"], opts["T0"], setup.spectrum)
        except (TypeError, ValueError) as e:
            raise ValueError(f"init=Q0/R0/T0 is invalid: {e}") from None
        ov.validate(setup)
        spec = {"kind": "overlaps", "overlaps": ov}
    else:
        spec = {"kind": "random", "sigma_J": opts["sigma_J"], "seed": opts["seed"],
                "teacher": opts["teacher"], "N": opts.get("N")}
    spec["options"] = opts
    spec["given"] = given
    return setup, spec


def init_overlaps(setup: Setup, spec: dict) -> Overlaps:
    """Initial group overlaps for the ODE: the given ones, or those of SGD seed ``seed``'s
    initial weights (needs ``N``)."""
    if spec["kind"] == "overlaps":
        return spec["overlaps"]
    from scalinglaws.committee.sgd import initial_weights

    N = spec.get("N")
    require(N is not None, "N", N, "required for a random initial condition (the ODE starts "
            "from the overlaps of one seeded draw of N-dimensional weights)")
    N = check_int("N", N, 1)
    max_memory = spec.get("options", {}).get("max_memory") or DEFAULT_MAX_MEMORY
    check_cost("N", N, 8.0 * 3 * (setup.K + setup.M) * N, max_memory,
               what="of memory for the random initial weights (K + M) x N",
               limit_name="max_memory", cli_option="--max-memory", memory=True)
    J, B = initial_weights(setup, N, [spec["seed"]], sigma_J=spec["sigma_J"],
                           teacher=spec["teacher"])
    return Overlaps.from_weights(J[0], B[0], setup.spectrum)


def _write(traj, output) -> None:
    text = trajectory_csv(traj)
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)


def _limits(o: dict) -> dict:
    return {k: o[k] for k in ("max_steps", "max_memory") if o.get(k) is not None}


# ----------------------------------------------------------------------------------------------
# subcommands
# ----------------------------------------------------------------------------------------------
def _cmd_sgd(args) -> None:
    from scalinglaws.committee.sgd import simulate

    setup, spec = setup_from_args(args, _SGD_DEFAULTS)
    o = spec["options"]
    require(o.get("N") is not None, "N", None, "required for sgd (--N)")
    kw = dict(times=o.get("times"), n_times=o["n_times"], t_min=o["t_min"],
              seeds=o.get("seeds"), n_seeds=o["n_seeds"], seed=o["seed"],
              method=o["method"], block=o["block"], mc_samples=o["mc_samples"],
              n_jobs=o.get("n_jobs"), sigma_J=o["sigma_J"], teacher=o["teacher"], **_limits(o))
    if spec["kind"] == "overlaps":
        kw["init"] = spec["overlaps"]
    traj = simulate(setup, o["N"], None if o.get("times") is not None else o["t_max"], **kw)
    _write(traj, o.get("output"))


# ---- ode: registered here (lead: ode.py owns the integrator; this wrapper only parses) --------
def _cmd_ode(args) -> None:
    from scalinglaws.committee.ode import check_limits, check_memory, integrate, log_times

    setup, spec = setup_from_args(args, _ODE_DEFAULTS)
    o = spec["options"]
    kw = {k: o[k] for k in ("method", "rtol", "atol", "dt") if o.get(k) is not None}
    lim = _limits(o)
    method = o.get("method") or "auto"
    times = o.get("times")
    # cost checks before the initial condition is drawn and validated (O((K+M)^3) work)
    check_memory(setup, method, len(times) if times is not None else o["n_times"] + 1,
                 lim.get("max_memory", DEFAULT_MAX_MEMORY))
    if times is None:
        require(o["t_min"] < o["t_max"], "t_max", o["t_max"], f"a number > t_min={o['t_min']:g} "
                "(the first nonzero output time); lower --t-min or give --times")
        times = log_times(o["t_max"], n=o["n_times"], t_min=o["t_min"])
    times = np.asarray(times, float)
    require(times.size >= 1 and bool(np.all(np.diff(times) > 0)) and bool(np.all(times >= 0)),
            "times", o.get("times"), "strictly increasing values >= 0")
    if method != "euler" or o.get("dt") is not None:
        check_limits(setup, method, times, o.get("dt"), **lim)
    init = init_overlaps(setup, spec)
    traj = integrate(setup, init, times=times, **kw, **lim)
    _write(traj, o.get("output"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description="Learning curves of two-layer "
                                "student-teacher networks: order-parameter ODEs and online SGD.")
    sub = p.add_subparsers(dest="command", required=True)

    # ---- ode subcommand -----------------------------------------------------------------------
    po = sub.add_parser("ode", help="integrate the order-parameter ODEs",
                        description="Integrate the eigen-group order-parameter ODEs "
                        "(scalinglaws.committee.ode.integrate); CSV on a log-spaced alpha grid.")
    add_common_arguments(po)
    go = po.add_argument_group("integrator")
    go.add_argument("--method", help="integrator (default: ode.integrate's 'auto'); e.g. euler "
                    "(with --dt), ros2, bdf, or a solve_ivp method")
    go.add_argument("--rtol", type=float, help="relative tolerance (adaptive methods, > 0)")
    go.add_argument("--atol", type=float, help="absolute tolerance (adaptive methods, > 0)")
    go.add_argument("--dt", type=float, help="Euler step (only with --method euler; must be "
                    "below the spacing of the output times)")
    po.set_defaults(func=_cmd_ode)

    # ---- sgd subcommand -----------------------------------------------------------------------
    ps = sub.add_parser("sgd", help="simulate online SGD over seeds",
                        description="Online SGD of the same problem (scalinglaws.committee.sgd.simulate), "
                        "batched over seeds; CSV with the seed mean and eps_g_se.")
    add_common_arguments(ps)
    gs = ps.add_argument_group("simulation")
    gs.add_argument("--seeds", help="comma-separated seeds (instead of --seed/--n-seeds)")
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
    input (message names the parameter; also for runs refused by the cost limits), 3 when the
    dynamics diverge."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:            # argparse: --help (0) or a malformed option (2)
        return e.code if isinstance(e.code, int) else 2
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
