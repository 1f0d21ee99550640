"""Backpropagation through time on a toy recurrent cell: the chain of Jacobians and why it shrinks.

A recurrent layer reads days x_1 … x_T into states h_1 … h_T, and the loss L sees day t only through the
chain h_t → h_{t+1} → … → h_T. By the chain rule

    ∂L/∂x_t = ∂L/∂h_T · J_T · J_{T−1} ⋯ J_{t+1} · ∂h_t/∂x_t,   with J_k = ∂h_k/∂h_{k−1}.

For the tanh cell h_k = tanh(W h_{k−1} + U x_k) each factor is J_k = diag(tanh′(·)) W, so
‖J_k‖ ≤ max tanh′ · ‖W‖ ≤ ‖W‖: the product of T − t of them can shrink like ‖W‖^(T−t), geometrically in the
distance back in time. An LSTM's cell state has the factor diag(f_k) instead (its forget gate, between 0 and
1), which is why the forget gate's bias decides how far back its gradient reaches. :func:`jacobian_chain`
computes ‖J_T ⋯ J_{T−k+1}‖ for a random cell, so the book can draw the decay beside its bound.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CELLS", "jacobian_chain"]

CELLS: tuple[str, ...] = ("linear", "tanh")


def _orthogonal(units: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((units, units)))
    return q * np.sign(np.diag(r))


def jacobian_chain(
    gain: float, steps: int, units: int = 32, cell: str = "tanh", input_scale: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Spectral norms ‖J_T ⋯ J_{T−k+1}‖₂ for k = 0 … ``steps`` (k = 0 is the identity, norm 1).

    The cell is h_k = φ(W h_{k−1} + x_k) with W = ``gain`` × a random orthogonal matrix, x_k standard normal
    inputs times ``input_scale``, and φ the identity (``cell="linear"``: the norms are exactly gain^k) or
    tanh (``"tanh"``: at most gain^k, smaller where tanh saturates). Seeded: the same arguments give the
    same curve.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if steps < 0 or units < 1 or gain <= 0:
        raise ValueError(f"need steps >= 0, units >= 1 and gain > 0; got {steps}, {units}, {gain}")
    rng = np.random.default_rng(seed)
    w = gain * _orthogonal(units, rng)
    h = np.zeros(units)
    jacobians = []
    for _ in range(steps):
        pre = w @ h + input_scale * rng.standard_normal(units)
        h = pre if cell == "linear" else np.tanh(pre)
        slope = np.ones(units) if cell == "linear" else 1.0 - h**2
        jacobians.append(slope[:, None] * w)
    norms = [1.0]
    product = np.eye(units)
    for jac in reversed(jacobians):  # from the last step backwards: J_T, J_T J_{T-1}, ...
        product = product @ jac
        norms.append(float(np.linalg.norm(product, 2)))
    return np.asarray(norms)
