"""goldlab.bptt: the chain of Jacobians of a toy recurrent cell."""

import numpy as np
import pytest

from goldlab import bptt


@pytest.mark.parametrize("gain", [0.8, 1.0, 1.2])
def test_linear_cell_is_exactly_geometric(gain):
    norms = bptt.jacobian_chain(gain, 20, cell="linear")
    np.testing.assert_allclose(norms, gain ** np.arange(21), rtol=1e-9)


def test_tanh_cell_stays_under_its_bound_and_vanishes():
    norms = bptt.jacobian_chain(1.0, 60, cell="tanh")
    assert norms[0] == 1.0 and len(norms) == 61
    assert np.all(norms <= 1.0 + 1e-12)
    assert np.all(np.diff(norms) <= 1e-12), "a product of contractions never grows"
    assert norms[-1] < 1e-3 * norms[1], "saturating tanh: the gradient fades through 60 steps"


def test_small_inputs_keep_tanh_near_linear():
    near = bptt.jacobian_chain(1.0, 30, input_scale=0.01)
    far = bptt.jacobian_chain(1.0, 30, input_scale=1.0)
    assert near[-1] > 100 * far[-1]


def test_seeded_and_checked():
    np.testing.assert_array_equal(bptt.jacobian_chain(0.9, 10, seed=3), bptt.jacobian_chain(0.9, 10, seed=3))
    with pytest.raises(ValueError, match="cell must be"):
        bptt.jacobian_chain(1.0, 5, cell="relu")
    with pytest.raises(ValueError, match="gain > 0"):
        bptt.jacobian_chain(0.0, 5)
