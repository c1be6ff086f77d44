"""The fingerprinting adversary: classifiers that try to tell two conditions apart from per-run features.

Runs are the unit: each run is one sample, cross-validation splits runs (never replies of one
run across folds), the interval on accuracy counts runs, and the permutation p-value shuffles
run labels. Two models, as an observer would try them: logistic regression on standardised
features and gradient-boosted trees (which find a threshold on one edge feature by themselves).
The judged verdict is the *adversary*'s: in each fold it picks one of the two by an inner
cross-validation on that fold's training runs only. Taking the better of the two models' test
accuracies instead would peek at the runs being scored: with 12 runs that selection alone lifts
the null's mean accuracy to about 0.6.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mule.contract.stats import wilson_interval

MODELS = {
    "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear", max_iter=200)),
    "boosting": GradientBoostingClassifier(n_estimators=10, max_depth=2, learning_rate=0.5, random_state=0),
}
ADVERSARY = "adversary"
"""The verdict that is judged: the model chosen per fold from the training runs alone (``_chosen_model``)."""
ModelFor = Callable[[np.ndarray, np.ndarray, int], object]
"""A fold's model from its training runs (features, labels) and the seed."""


@dataclass(frozen=True, slots=True)
class Verdict:
    model: str
    accuracy: float
    """Mean accuracy over repeated stratified k-fold cross-validation (0.5 is chance)."""
    low: float
    high: float
    """95 % Wilson interval, counting runs (not folds or repeats) as the trials."""
    p_value: float | None
    """Share of label permutations that reached the same accuracy ((1 + hits) / (1 + permutations)); ``None``
    when no permutation test was asked for."""
    runs: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def matrix(a: Sequence[Mapping[str, float]], b: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Features shared by every run of both conditions, as ``(X, y)`` with y = 0 for ``a`` and 1 for ``b``."""
    runs = [*a, *b]
    names = sorted(set.intersection(*(set(run) for run in runs))) if runs else []
    x = np.asarray([[run[name] for name in names] for run in runs], dtype=np.float64)
    y = np.asarray([0] * len(a) + [1] * len(b))
    return np.nan_to_num(x), y


def _folds(y: np.ndarray, repeats: int, seed: int) -> RepeatedStratifiedKFold:
    return RepeatedStratifiedKFold(n_splits=int(min(3, np.bincount(y).min())), n_repeats=repeats, random_state=seed)


def _cv_accuracy(model_for: ModelFor, x: np.ndarray, y: np.ndarray, repeats: int, seed: int) -> float:
    """Repeated stratified k-fold accuracy; ``model_for`` picks each fold's model from that fold's training runs."""
    correct = total = 0
    for train, test in _folds(y, repeats, seed).split(x, y):
        fitted = clone(model_for(x[train], y[train], seed)).fit(x[train], y[train])  # type: ignore[type-var]
        correct += int((fitted.predict(x[test]) == y[test]).sum())
        total += test.size
    return correct / total


def _always(model: object) -> ModelFor:
    return lambda _x, _y, _seed: model


def _chosen_model(x: np.ndarray, y: np.ndarray, seed: int) -> object:
    """The model an observer would pick from these runs alone: the better inner cross-validation (ties: the first)."""
    if np.bincount(y, minlength=2).min() < 2:
        return MODELS["logistic"]
    scores = {name: _cv_accuracy(_always(model), x, y, 1, seed) for name, model in MODELS.items()}
    return MODELS[max(scores, key=scores.__getitem__)]


def classify(
    a: Sequence[Mapping[str, float]],
    b: Sequence[Mapping[str, float]],
    *,
    repeats: int = 3,
    permutations: int = 99,
    seed: int = 0,
) -> list[Verdict]:
    """Each model's cross-validated accuracy at telling runs of ``a`` from runs of ``b``, with interval and p."""
    x, y = matrix(a, b)
    if x.size == 0 or np.bincount(y, minlength=2).min() < 2:
        return []
    rng = np.random.default_rng(seed)
    choosers = {name: _always(model) for name, model in MODELS.items()} | {ADVERSARY: _chosen_model}
    verdicts = []
    for name, model_for in choosers.items():
        accuracy = _cv_accuracy(model_for, x, y, repeats, seed)
        hits = sum(_cv_accuracy(model_for, x, rng.permutation(y), 1, seed + i) >= accuracy for i in range(permutations))
        low, high = wilson_interval(accuracy * y.size, y.size)
        p_value = (1 + hits) / (1 + permutations) if permutations else None
        verdicts.append(Verdict(name, accuracy, low, high, p_value, int(y.size)))
    return verdicts


def judged(verdicts: Sequence[Mapping[str, object]]) -> Mapping[str, object] | None:
    """The adversary's verdict among ``classify``'s (as dicts), or ``None`` if there were too few runs."""
    return next((v for v in verdicts if v["model"] == ADVERSARY), None)
