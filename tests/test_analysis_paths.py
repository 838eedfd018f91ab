"""Path-length distribution (Veit et al. 2016, Section 3): 2^n paths, binomial, mean n/2."""

import collections
import itertools

import numpy as np
import pytest

from resnet_lib.analysis.paths import effective_path_distribution, path_length_distribution

pytestmark = pytest.mark.one_backend  # path counting: NumPy, no model


@pytest.mark.parametrize("n", [0, 1, 3, 9, 54, 600])
def test_counts_sum_to_two_to_the_n_with_mean_half_n(n):
    paths = path_length_distribution(n)
    assert paths.total == 2**n
    assert paths.lengths.tolist() == list(range(n + 1))
    assert paths.mean == pytest.approx(n / 2)
    assert paths.fraction.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10])
def test_counts_equal_enumerated_paths(n):
    """Every path is a choice, per block, of branch or skip: enumerate them all and count."""
    enumerated = collections.Counter(sum(choice) for choice in itertools.product((0, 1), repeat=n))
    assert list(path_length_distribution(n).counts) == [enumerated[k] for k in range(n + 1)]


def test_resnet110_counts():
    paths = path_length_distribution(54)  # ResNet-110: 3 stages x 18 blocks
    # adding a block extends each path by a skip or by its branch: Pascal's rule, block by block
    counts = [1]
    for _ in range(54):
        counts = [a + b for a, b in zip([0] + counts, counts + [0])]
    assert list(paths.counts) == counts
    assert paths.counts[0] == paths.counts[54] == 1
    # Veit et al.: paths 5-17 blocks long are 0.45% of all paths
    assert sum(paths.fraction[5:18]) == pytest.approx(0.0045, abs=0.0005)


def test_effective_paths_weight_counts_by_gradient():
    n = 4
    gradient = np.array([8.0, 4.0, 2.0, 1.0, 0.5])
    shares = effective_path_distribution(n, gradient)
    counts = np.array([1, 4, 6, 4, 1])
    np.testing.assert_allclose(shares, counts * gradient / (counts * gradient).sum())
    with pytest.raises(ValueError, match="expected 5 values"):
        effective_path_distribution(n, gradient[:3])
    with pytest.raises(ValueError, match="num_blocks"):
        path_length_distribution(-1)
