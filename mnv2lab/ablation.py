"""Analysis of the CIFAR-10 ablation study (Figure 6a, 6b and the width sweep): load the runs that
exist, summarize them over seeds, compare each variant with the paper's model seed by seed, and
say in words (with the numbers) whether the paper's claims reproduced.

    plan = ablation.plan(nb.params, "fig6a")           # which runs, where, smoke reductions
    study = ablation.collect(plan)                      # load (and, if asked, train) the runs
    ablation.curves(study, width)                       # mean test accuracy per step, 95% band
    ablation.final_table(study) / ablation.paired_table(study)
    print(ablation.verdict_fig6a(study))

Conventions: accuracies are in percent; a *gap* is ``paper's model - variant`` for the same seed
(positive: the paper's choice is better), averaged over the seeds both have, with a Student-t 95%
interval (:func:`mnv2lab.stats.paired_difference`). With fewer than 3 seeds per variant the
verdict says it is provisional.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import study as S
from .notebook import COMMON, NoResults
from .params import Param, ParameterError
from .paths import resolve, results_dir, shared_data
from .stats import mean_ci, paired_difference

# ---------------------------------------------------------------------------------------------
# What the paper shows (Figure 6, read off the plot; paper-notes.md)

PAPER_FIG6 = ("ImageNet top-1, one run per variant: at the end of training the paper's model leads "
              "by roughly 0.5 to 1.5 points, 'no residual' trails most; the gaps are larger "
              "earlier in training (the text says 'several percent')")
PAPER_FINAL_GAP = (0.5, 1.5)          # points of top-1, read off Figure 6
EARLY_FRACTION = 0.2                  # "early in training": the evaluation nearest 20% of the run
MIN_SEEDS_FOR_VERDICT = 3

DATASETS = ("cifar10-jpeg", "cifar10", "digits")

SPEC_ABLATION: dict[str, Param] = {
    **COMMON,
    "dataset": Param(str, "data set of the study", choices=DATASETS),
    "main_width": Param(float, "width multiplier of the Figure 6 ablations", min=0.1, max=2.0),
    "widths": Param(list, "width multipliers of the linear-vs-ReLU6 sweep", item=float, min=0.1,
                    max=2.0, min_len=1),
    "seeds": Param(list, "seeds (the same for every variant: paired)", item=int, min=0,
                   min_len=1),
    "epochs": Param(int, "epochs per run (the study's recipe)", min=1, max=1000),
    "train_missing": Param(bool, "train runs that have no stored result (needs the data)"),
    "results_dir": Param(str, "folder of results/<study>/ (relative: from the repo root)"),
}

SMOKE = {"dataset": "digits", "seeds": [0, 1], "epochs": 2, "train_subset": 384, "test_subset": 120}


@dataclass
class Plan:
    """The runs a notebook needs and where their results live (after smoke reductions)."""

    runs: list[S.StudyRun]
    results: Path                      # the folder holding <key>.json
    train_missing: bool
    smoke: bool
    main_width: float
    widths: list[float]
    seeds: list[int]
    epochs: int
    dataset: str
    in_committed_study: bool           # every run is one of `python -m mnv2lab.study`'s


def plan(params: Mapping[str, Any], use: str | Sequence[str]) -> Plan:
    """The runs behind ``use`` ("fig6a", "fig6b", "width_sweep" or several), from validated
    notebook parameters. ``smoke=True`` swaps in tiny digits runs trained into a temporary folder.
    Cross-parameter checks raise ParameterError before any work."""
    uses = {use} if isinstance(use, str) else set(use)
    seeds, widths = list(params["seeds"]), [float(w) for w in params["widths"]]
    main_width = float(params["main_width"])
    if len(set(seeds)) != len(seeds):
        raise ParameterError(f"parameter 'seeds': got {seeds!r}; allowed: distinct seeds")
    if len(set(widths)) != len(widths):
        raise ParameterError(f"parameter 'widths': got {widths!r}; allowed: distinct widths")
    if "width_sweep" in uses and main_width not in widths:
        raise ParameterError(f"parameters 'main_width' and 'widths': got {main_width!r} and "
                             f"{widths!r}; allowed: main_width among the widths (its runs are shared)")
    dataset, epochs, extra = params["dataset"], int(params["epochs"]), {}
    results = resolve(params["results_dir"]) / S.STUDY
    if params["smoke"]:
        dataset, epochs = SMOKE["dataset"], SMOKE["epochs"]
        extra = {"train_subset": SMOKE["train_subset"], "test_subset": SMOKE["test_subset"]}
        seeds = seeds[:len(SMOKE["seeds"])] if len(seeds) >= 2 else seeds
        widths = sorted(widths)[:2] if len(widths) > 2 else widths
        if main_width not in widths:
            widths = sorted({*widths[:1], main_width})
        results = Path(tempfile.mkdtemp(prefix="mnv2lab-smoke-")) / S.STUDY
    runs = S.define_study(seeds=seeds, main_width=main_width, widths=widths, epochs=epochs,
                          dataset=dataset, include_v1=False, **extra)
    runs = [r for r in runs if uses & set(r.uses)]
    committed = {r.key for r in S.define_study()}
    return Plan(runs=runs, results=results, train_missing=bool(params["train_missing"]
                                                                   or params["smoke"]),
                smoke=bool(params["smoke"]), main_width=main_width, widths=widths, seeds=seeds,
                epochs=epochs, dataset=dataset,
                in_committed_study=all(r.key in committed for r in runs))


@dataclass
class StudyResults:
    """The runs of a plan that have results, and the ones that do not."""

    plan: Plan
    results: dict[str, Any] = field(default_factory=dict)     # run name -> RunResult
    missing: list[S.StudyRun] = field(default_factory=list)

    def runs(self, variant: str, width: float, model: str = "mobilenet_v2") -> dict[int, Any]:
        """seed -> RunResult of one variant at one width (only the runs that exist)."""
        return {r.seed: self.results[r.name] for r in self.plan.runs
                if r.variant == variant and r.width == width and r.model == model
                and r.name in self.results}

    @property
    def n_done(self) -> int:
        return len(self.results)


def data_available(dataset: str) -> bool:
    """Whether a data set can be loaded offline here."""
    if dataset == "digits":
        return True
    if dataset == "cifar10-jpeg":
        return shared_data("cifar10-jpeg.tar.gz").exists()
    return False


def missing_message(plan: Plan, missing: Sequence[S.StudyRun]) -> str:
    """Which runs are missing and the exact command that produces them."""
    if not missing:
        return "all runs present"
    names = ", ".join(r.name for r in missing[:8]) + (" ..." if len(missing) > 8 else "")
    if plan.in_committed_study:
        how = ("train them with `.venv/bin/python -m mnv2lab.study run` (the whole study, about "
               "10 h on 2 cores; `--only seed0` for the first seed) or rerun this notebook with "
               "`-p train_missing True`")
    else:
        how = ("these parameters differ from the committed study's, so rerun this notebook with "
               "`-p train_missing True` to train them")
    if not data_available(plan.dataset):
        how += (f"; training needs the data set {plan.dataset!r}"
                + (f" at {shared_data('cifar10-jpeg.tar.gz')}" if plan.dataset == "cifar10-jpeg"
                   else " (mnv2lab.data.load_dataset(..., download=True) fetches CIFAR pickles)"))
    return f"{len(missing)} of {len(plan.runs)} runs have no result yet ({names}): {how}."


def collect(plan: Plan, progress: bool | None = None) -> StudyResults:
    """Load every run of the plan that has a stored result; train the others if the plan says so
    and the data is here (with a progress bar), otherwise list them with the command to run."""
    from .train import ResultCacheWarning, load_result, run_or_load
    import warnings

    out = StudyResults(plan)
    for r in plan.runs:
        path = S.result_file(r, plan.results)
        if path.exists():
            try:
                out.results[r.name] = load_result(path, r.config)
                continue
            except (ValueError, KeyError, TypeError) as e:
                warnings.warn(f"stored result {path} is unusable ({e})", ResultCacheWarning)
        out.missing.append(r)
    if out.missing and plan.train_missing:
        if not data_available(plan.dataset):
            raise FileNotFoundError(missing_message(plan, out.missing))
        todo, out.missing = out.missing, []
        for i, r in enumerate(todo, 1):
            print(f"training missing run {i}/{len(todo)}: {r.name}", flush=True)
            out.results[r.name] = run_or_load(r.config, plan.results, progress=progress)
    if not out.n_done:
        raise NoResults(f"no stored result for any of the {len(plan.runs)} runs of this plan in "
                        f"{plan.results} (epochs={plan.epochs}, seeds {plan.seeds}); nothing to "
                        f"analyse. {missing_message(plan, out.missing)}")
    print(f"{out.n_done}/{len(plan.runs)} runs loaded from {plan.results}"
          + ("" if not out.missing else f"\n{missing_message(plan, out.missing)}"))
    return out


# ---------------------------------------------------------------------------------------------
# Summaries over seeds

def _acc_series(result) -> pd.Series:
    """Test accuracy (%) indexed by step."""
    return pd.Series({h["step"]: 100.0 * h["test_acc"] for h in result.history}, name="acc")


def curves(study: StudyResults, width: float, variants: Sequence[str]) -> pd.DataFrame:
    """Per variant and evaluation step: mean test accuracy (%) over the seeds with its 95% band.
    Columns: variant, step, epoch, n, mean, low, high."""
    rows = []
    for v in variants:
        runs = study.runs(v, width)
        if not runs:
            continue
        table = pd.DataFrame({s: _acc_series(r) for s, r in runs.items()})
        any_run = next(iter(runs.values()))
        epoch_of = {h["step"]: h["epoch"] for h in any_run.history}
        for step, row in table.iterrows():
            vals = row.dropna().to_numpy()
            m, lo, hi = mean_ci(vals)
            rows.append({"variant": v, "step": int(step), "epoch": epoch_of.get(step),
                         "n": len(vals), "mean": m, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["variant", "step", "epoch", "n", "mean", "low", "high"])


def gap_curves(study: StudyResults, width: float, variants: Sequence[str],
               reference: str = S.PAPER_VARIANT) -> pd.DataFrame:
    """Per variant and step: the paired gap ``reference - variant`` (points) with its 95%
    interval, over the seeds both have. Columns: variant, step, epoch, n, mean, low, high,
    excludes_zero."""
    ref = study.runs(reference, width)
    rows = []
    for v in variants:
        if v == reference:
            continue
        other = study.runs(v, width)
        seeds = sorted(set(ref) & set(other))
        if not seeds:
            continue
        a = pd.DataFrame({s: _acc_series(ref[s]) for s in seeds})
        b = pd.DataFrame({s: _acc_series(other[s]) for s in seeds})
        epoch_of = {h["step"]: h["epoch"] for h in ref[seeds[0]].history}
        for step in a.index.intersection(b.index):
            d = paired_difference(a.loc[step].to_numpy(), b.loc[step].to_numpy())
            rows.append({"variant": v, "step": int(step), "epoch": epoch_of.get(step), "n": d.n,
                         "mean": d.mean, "low": d.low, "high": d.high,
                         "excludes_zero": d.excludes_zero})
    return pd.DataFrame(rows, columns=["variant", "step", "epoch", "n", "mean", "low", "high",
                                       "excludes_zero"])


def final_table(study: StudyResults, cells: Sequence[tuple[str, float]]) -> pd.DataFrame:
    """Final test accuracy (%) per (variant, width): seeds, mean and 95% interval, per-seed values."""
    rows = []
    for v, w in cells:
        runs = study.runs(v, w)
        vals = [100.0 * runs[s].final["test_acc"] for s in sorted(runs)]
        m, lo, hi = mean_ci(vals) if vals else (math.nan, math.nan, math.nan)
        rows.append({"variant": v, "label": S.VARIANT_LABELS.get(v, v), "width": w,
                     "seeds": len(vals), "mean": m, "low": lo, "high": hi,
                     "per_seed": ", ".join(f"{x:.2f}" for x in vals)})
    return pd.DataFrame(rows)


def _at_fraction(result, fraction: float) -> float:
    """Test accuracy (%) at the evaluation nearest ``fraction`` of the run (1.0: the end)."""
    total = result.history[-1]["step"]
    h = min(result.history, key=lambda h: (abs(h["step"] - fraction * total), -h["step"]))
    return 100.0 * h["test_acc"]


def paired_gap(study: StudyResults, variant: str, width: float, *, reference: str = S.PAPER_VARIANT,
               fraction: float = 1.0):
    """PairedDifference of ``reference - variant`` (points) at ``fraction`` of training, or None
    when no seed has both runs."""
    ref_vals, other_vals = paired_accuracies(study, variant, width, reference=reference,
                                             fraction=fraction)
    return paired_difference(ref_vals, other_vals) if ref_vals else None


def paired_accuracies(study: StudyResults, variant: str, width: float, *,
                      reference: str = S.PAPER_VARIANT,
                      fraction: float = 1.0) -> tuple[list[float], list[float]]:
    """Test accuracies (%) of ``reference`` and ``variant`` at ``fraction`` of training, over the
    seeds both have (in seed order): the pairs behind :func:`paired_gap`."""
    ref, other = study.runs(reference, width), study.runs(variant, width)
    seeds = sorted(set(ref) & set(other))
    return ([_at_fraction(ref[s], fraction) for s in seeds],
            [_at_fraction(other[s], fraction) for s in seeds])


def early_minus_final(study: StudyResults, variant: str, width: float,
                      reference: str = S.PAPER_VARIANT):
    """PairedDifference over seeds of (gap early) - (gap at the end): positive when the gap
    shrinks during training, as in the paper. None without a complete pair."""
    ref, other = study.runs(reference, width), study.runs(variant, width)
    seeds = sorted(set(ref) & set(other))
    if not seeds:
        return None
    early = [_at_fraction(ref[s], EARLY_FRACTION) - _at_fraction(other[s], EARLY_FRACTION)
             for s in seeds]
    final = [_at_fraction(ref[s], 1.0) - _at_fraction(other[s], 1.0) for s in seeds]
    return paired_difference(early, final)


def paired_table(study: StudyResults, cells: Sequence[tuple[str, float]],
                 reference: str = S.PAPER_VARIANT) -> pd.DataFrame:
    """Paired gaps ``reference - variant`` (points) at the end and early in training, per
    (variant, width): mean, 95% interval, whether the interval excludes zero, per-seed gaps."""
    rows = []
    for v, w in cells:
        if v == reference:
            continue
        for when, frac in (("end", 1.0), (f"early ({EARLY_FRACTION:.0%} of training)",
                                          EARLY_FRACTION)):
            d = paired_gap(study, v, w, reference=reference, fraction=frac)
            ref_vals, other_vals = paired_accuracies(study, v, w, reference=reference,
                                                     fraction=frac)
            rows.append({"variant": v, "label": S.VARIANT_LABELS.get(v, v), "width": w,
                         "when": when, "pairs": 0 if d is None else d.n,
                         "gap": math.nan if d is None else d.mean,
                         "low": math.nan if d is None else d.low,
                         "high": math.nan if d is None else d.high,
                         "excludes_zero": False if d is None else d.excludes_zero,
                         "per_seed": ", ".join(f"{a - b:+.2f}"
                                               for a, b in zip(ref_vals, other_vals))})
    return pd.DataFrame(rows)


def width_gaps(study: StudyResults, widths: Sequence[float]) -> pd.DataFrame:
    """The linear-minus-ReLU6 gap at the end of training for every width (beyond the paper)."""
    rows = []
    for w in sorted(widths):
        d = paired_gap(study, "relu6", w)
        lin, relu = study.runs("linear", w), study.runs("relu6", w)
        rows.append({"width": w, "bottleneck_channels": bottleneck_range(w),
                     "pairs": 0 if d is None else d.n,
                     "linear": mean_ci([100 * r.final["test_acc"] for r in lin.values()])[0]
                     if lin else math.nan,
                     "relu6": mean_ci([100 * r.final["test_acc"] for r in relu.values()])[0]
                     if relu else math.nan,
                     "gap": math.nan if d is None else d.mean,
                     "low": math.nan if d is None else d.low,
                     "high": math.nan if d is None else d.high,
                     "excludes_zero": False if d is None else d.excludes_zero})
    return pd.DataFrame(rows)


def bottleneck_range(width: float) -> str:
    """The bottleneck channels of the first and last stage of Table 2 at this width, e.g. "8-160"
    (the reference rounding to multiples of 8 makes the narrow widths share their first stages)."""
    from .models import make_divisible
    from .models.mobilenetv2 import TABLE2
    return f"{make_divisible(TABLE2[0][1] * width)}-{make_divisible(TABLE2[-1][1] * width)}"


def gap_trend(study: StudyResults, widths: Sequence[float]):
    """PairedDifference over seeds of (gap at the narrowest width) - (gap at the widest):
    positive if the gap grows as the bottleneck narrows, as the theory predicts."""
    lo_w, hi_w = min(widths), max(widths)
    runs = {(v, w): study.runs(v, w) for v in ("linear", "relu6") for w in (lo_w, hi_w)}
    seeds = sorted(set.intersection(*(set(r) for r in runs.values())))
    if lo_w == hi_w or not seeds:
        return None

    def gap(w, s):
        return 100 * (runs[("linear", w)][s].final["test_acc"]
                      - runs[("relu6", w)][s].final["test_acc"])

    return paired_difference([gap(lo_w, s) for s in seeds], [gap(hi_w, s) for s in seeds])


# ---------------------------------------------------------------------------------------------
# Verdicts: text built from the numbers

def _fmt(d) -> str:
    if d is None:
        return "no complete pair yet"
    if math.isnan(d.low):
        return f"{d.mean:+.2f} points (n = {d.n}: no interval)"
    return (f"{d.mean:+.2f} points [95% CI {d.low:+.2f}, {d.high:+.2f}], n = {d.n}"
            + ("" if d.excludes_zero else ", interval includes 0"))


def _direction(d) -> str:
    """'better' (interval above 0), 'worse' (below 0), 'unresolved', or 'missing'."""
    if d is None:
        return "missing"
    if d.excludes_zero:
        return "better" if d.mean > 0 else "worse"
    return "unresolved"


def _min_seeds(study: StudyResults) -> int:
    return min((len(study.runs(r.variant, r.width, r.model)) for r in study.plan.runs), default=0)


def short_note(study: StudyResults) -> str:
    """The provisional/smoke prefix for one-line findings ("" for a complete study)."""
    if study.plan.smoke:
        return "smoke run, not a result: "
    if study.missing or _min_seeds(study) < MIN_SEEDS_FOR_VERDICT:
        return f"provisional ({study.n_done}/{len(study.plan.runs)} runs, min {_min_seeds(study)} seeds): "
    return ""


def provisional_note(study: StudyResults) -> str:
    """A warning that opens every verdict of an incomplete (or smoke) study; "" when complete."""
    n_seeds = _min_seeds(study)
    if study.plan.smoke:
        return "SMOKE RUN (tiny digits runs): the numbers test the code, they are not a result. "
    if study.n_done == 0:
        return (f"NO RESULTS YET: 0 of {len(study.plan.runs)} runs done; the figures fill in as "
                "the study's runs land. ")
    if n_seeds == 0:
        return (f"PROVISIONAL: {study.n_done} of {len(study.plan.runs)} runs done; some variants "
                "have no run yet. ")
    if study.missing or n_seeds < MIN_SEEDS_FOR_VERDICT:
        return (f"PROVISIONAL: {study.n_done} of {len(study.plan.runs)} runs done, as few as "
                f"{n_seeds} seed(s) per variant; the verdict may change. ")
    return ""


def _setting(study: StudyResults) -> str:
    p = study.plan
    return f"{p.epochs} epoch{'s' if p.epochs != 1 else ''} of {p.dataset}"


def _verdict_word(directions: Sequence[str]) -> str:
    """reproduced: every gap resolved in the paper's direction; differs: one resolved against
    it; partly: the rest (unresolved, or not run yet: the text then says so)."""
    if all(d == "better" for d in directions):
        return "reproduced"
    if any(d == "worse" for d in directions):
        return "differs"
    return "partly"


def verdict_fig6a(study: StudyResults) -> dict:
    """Figure 6a: linear vs ReLU6 bottleneck at the main width. Returns ``{"verdict", "text",
    "finding"}`` (finding: one line for the README table)."""
    w = study.plan.main_width
    end = paired_gap(study, "relu6", w)
    early = paired_gap(study, "relu6", w, fraction=EARLY_FRACTION)
    shrink = early_minus_final(study, "relu6", w)
    verdict = _verdict_word([_direction(end)])
    note = provisional_note(study)
    text = (f"{note}Figure 6a (width {w:g}, {_setting(study)}): linear minus "
            f"ReLU6 bottleneck, test accuracy at the end: {_fmt(end)}; early "
            f"({EARLY_FRACTION:.0%} of training): {_fmt(early)}; early gap minus final gap: "
            f"{_fmt(shrink)}. Paper: {PAPER_FIG6}. "
            + ("No complete pair of runs yet: nothing to compare." if end is None else
               {"reproduced": "The linear bottleneck is better, as the paper says.",
                "partly": "The direction is not resolved at 95% confidence with these seeds.",
                "differs": "The paper's advantage of the linear bottleneck does not appear here."
                }[verdict]))
    finding = (f"{short_note(study)}linear - ReLU6 bottleneck at the end "
               f"{_short(end)} (paper: +0.5 to +1.5 top-1 on ImageNet); early {_short(early)}")
    return {"verdict": verdict, "text": text, "finding": finding[:300]}


def verdict_fig6b(study: StudyResults) -> dict:
    """Figure 6b: shortcut between bottlenecks vs between expansions vs none, at the main width."""
    w = study.plan.main_width
    exp_end = paired_gap(study, "expansion_shortcut", w)
    none_end = paired_gap(study, "no_residual", w)
    exp_early = paired_gap(study, "expansion_shortcut", w, fraction=EARLY_FRACTION)
    none_early = paired_gap(study, "no_residual", w, fraction=EARLY_FRACTION)
    worst = _worst_variant(study, w)
    verdict = _verdict_word([_direction(exp_end), _direction(none_end)])
    if verdict == "reproduced" and worst != "no_residual":
        verdict = "partly"
    note = provisional_note(study)
    text = (f"{note}Figure 6b (width {w:g}, {_setting(study)}): the paper's "
            f"shortcut between bottlenecks minus shortcut between expansions, at the end: "
            f"{_fmt(exp_end)} (early: {_fmt(exp_early)}); minus no residual, at the end: "
            f"{_fmt(none_end)} (early: {_fmt(none_early)}). Lowest final mean accuracy: "
            f"{S.VARIANT_LABELS.get(worst, worst) if worst else 'n/a'}. Paper: {PAPER_FIG6}. "
            + ("No complete pair of runs yet: nothing to compare."
               if exp_end is None and none_end is None else
               {"reproduced": "Both alternatives are worse and 'no residual' is worst, as in the "
                              "paper.",
                "partly": "Only part of the paper's ordering is resolved at 95% confidence.",
                "differs": "At least one alternative is resolved as better than the paper's "
                           "shortcut."}[verdict]))
    finding = (f"{short_note(study)}bottleneck shortcut - expansion shortcut "
               f"{_short(exp_end)}, - no residual {_short(none_end)} at the end (paper: +0.5 to "
               f"+1.5 top-1, no residual worst)")
    return {"verdict": verdict, "text": text, "finding": finding[:300]}


def _worst_variant(study: StudyResults, width: float) -> str | None:
    means = {}
    for v in ("linear", "expansion_shortcut", "no_residual"):
        runs = study.runs(v, width)
        if runs:
            means[v] = np.mean([r.final["test_acc"] for r in runs.values()])
    return min(means, key=means.get) if len(means) >= 2 else None


def verdict_width(study: StudyResults) -> dict:
    """Beyond the paper: does the linear-minus-ReLU6 gap grow as the bottleneck narrows?"""
    widths = study.plan.widths
    table = width_gaps(study, widths)
    trend = gap_trend(study, widths)
    per_width = "; ".join(
        f"width {r.width:g}: no pair" if not r.pairs else
        f"width {r.width:g}: {r.gap:+.2f} (n = {r.pairs}: no interval)"
        if not (np.isfinite(r.low) and np.isfinite(r.high)) else
        f"width {r.width:g}: {r.gap:+.2f} [{r.low:+.2f}, {r.high:+.2f}] (n = {r.pairs})"
        for r in table.itertuples())
    if trend is None:
        answer, verdict = "not yet measurable (needs both ends of the sweep)", "partly"
    elif trend.excludes_zero and trend.mean > 0:
        answer, verdict = "yes: the gap is larger at the narrowest width", "reproduced"
    elif trend.excludes_zero:
        answer, verdict = "no: the gap is smaller at the narrowest width", "differs"
    else:
        answer, verdict = "not resolved (interval includes 0)", "partly"
    note = provisional_note(study)
    text = (f"{note}Linear minus ReLU6 bottleneck, final test accuracy, per width: {per_width}. "
            f"Gap at width {min(widths):g} minus gap at width {max(widths):g}: {_fmt(trend)}. "
            f"Does the gap grow as the bottleneck narrows (the theory's prediction)? {answer}.")
    by_width = ", ".join(f"{r.width:g}: {r.gap:+.2f}" for r in table.itertuples() if r.pairs)
    finding = (f"{short_note(study)}linear - ReLU6 gap by width: {by_width or 'no pairs yet'}; "
               f"narrowest - widest {_short(trend)} (not in the paper)")
    # "beyond the paper" is what the README table shows for an item the paper does not test.
    return {"verdict": "beyond the paper", "trend_verdict": verdict, "text": text,
            "finding": finding[:300]}


def _short(d) -> str:
    if d is None:
        return "n/a"
    if math.isnan(d.low):
        return f"{d.mean:+.2f} pt (n={d.n})"
    return f"{d.mean:+.2f} pt [{d.low:+.2f}, {d.high:+.2f}] (n={d.n})"
