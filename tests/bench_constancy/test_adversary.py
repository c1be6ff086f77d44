"""The judged classifier: the adversary picks its model on training runs only, so a null pair scores at chance
(the better of two models' test accuracies would not), and a real difference is still found."""

from __future__ import annotations

import numpy as np

from mule.bench.constancy import adversary

RUNS = 6  # per condition, as in a quick run
FEATURES = 5
DATASETS = 60


def _runs(rng: np.random.Generator, shift: float = 0.0) -> list[dict[str, float]]:
    return [{f"f{i}": float(rng.normal()) + (shift if i == 0 else 0.0) for i in range(FEATURES)} for _ in range(RUNS)]


def _scores(shift: float, datasets: int = DATASETS) -> tuple[np.ndarray, np.ndarray]:
    """Per dataset: the adversary's accuracy and the best of the two models' test accuracies."""
    nested, best_of_two = [], []
    for seed in range(datasets):
        rng = np.random.default_rng(seed)
        found = adversary.classify(_runs(rng), _runs(rng, shift), repeats=1, permutations=0)
        verdicts = {v.model: v.accuracy for v in found}
        nested.append(verdicts[adversary.ADVERSARY])
        best_of_two.append(max(verdicts[name] for name in adversary.MODELS))
    return np.asarray(nested), np.asarray(best_of_two)


def test_the_adversary_scores_chance_on_a_null_pair_where_the_best_of_two_is_biased_up() -> None:
    nested, best_of_two = _scores(0.0)
    se = 0.16 / np.sqrt(DATASETS)  # one 12-run accuracy has a standard deviation of about 0.16 under the null
    assert nested.mean() <= 0.5 + 3 * se, nested.mean()
    # The control: selecting on the test runs is what the adversary avoids, and it is measurably optimistic.
    assert best_of_two.mean() - nested.mean() > 0.03, (best_of_two.mean(), nested.mean())


def test_the_adversary_finds_a_real_difference() -> None:
    nested, _ = _scores(3.0, datasets=20)  # one feature of five moved by three standard deviations
    assert nested.mean() >= 0.75, nested.mean()  # the null's mean is 0.5 +- 0.02
