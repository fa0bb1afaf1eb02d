"""Topic 3: a hand-written RNN against ``nn.RNN``, and a NumPy BPTT against torch autograd, side by side.

1. The recurrence a student writes first, a Python loop over time with torch operations,

       h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b),

   against ``torch.nn.RNN`` (tanh, one layer, batch first) with the same weights on the same inputs:
   forward only (under ``torch.no_grad``) and forward + backward (of ``sum(h * upstream)`` for a fixed
   random ``upstream``), on the CPU and on CUDA when a GPU is visible (TF32 off, so both sides compute
   in float32). Prints the median time of ``--repeats`` runs (after one warm-up) and the ratio
   ours / nn.RNN, measured in the same run, after checking that both give the same hidden states.
2. Backpropagation through time written out in NumPy (forward, then the full backward over the
   sequence) against torch autograd through ``nn.RNN`` on the same float64 weights and inputs, on the
   CPU. Prints the time ratio and checks that all five gradients (``W_xh``, ``W_hh``, ``b``, the inputs
   and the initial state) agree; the script exits with an error when they do not.

    .venv/bin/python benchmarks/rnn_speed.py [--batch 64] [--seq 100] [--input 64] [--hidden 256]
                                             [--repeats 5] [--device auto|cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from recurrent_timing import chosen_devices, median_seconds, recurrent_arguments


def loop_rnn(
    x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b: torch.Tensor,
) -> torch.Tensor:
    """The student's recurrence: every hidden state, ``(B, T, H)``.

    ``x`` is ``(B, T, I)``, ``h0`` ``(B, H)``, ``W_xh`` ``(H, I)``, ``W_hh`` ``(H, H)`` and ``b`` ``(H,)``.
    """
    h = h0
    states = []
    for t in range(x.size(1)):
        h = torch.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b)  # (B, H)
        states.append(h)
    return torch.stack(states, dim=1)


def numpy_bptt(
    x: np.ndarray, h0: np.ndarray, W_xh: np.ndarray, W_hh: np.ndarray, b: np.ndarray, upstream: np.ndarray,
) -> dict[str, np.ndarray]:
    """Forward over the whole sequence, then backpropagation through time, for ``L = sum(h * upstream)``.

    Shapes as in :func:`loop_rnn`; ``upstream`` is ``dL/dh_t`` from outside the recurrence, ``(B, T, H)``.
    Returns the gradients of ``L`` with respect to ``W_xh``, ``W_hh``, ``b``, ``x`` and ``h0``.
    """
    batch, steps, _ = x.shape
    hs = np.empty((batch, steps + 1, W_hh.shape[0]))  # hs[:, t + 1] = h_t; hs[:, 0] = h0
    hs[:, 0] = h0
    for t in range(steps):
        hs[:, t + 1] = np.tanh(x[:, t] @ W_xh.T + hs[:, t] @ W_hh.T + b)
    dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(b)
    dx = np.empty_like(x)
    dh_next = np.zeros_like(h0)  # dL/dh_t through h_{t+1}: the gradient flowing back in time
    for t in reversed(range(steps)):
        dh = upstream[:, t] + dh_next                     # (B, H)
        da = dh * (1.0 - hs[:, t + 1] ** 2)               # through tanh; (B, H)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ hs[:, t]
        db += da.sum(axis=0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"W_xh": dW_xh, "W_hh": dW_hh, "b": db, "x": dx, "h0": dh_next}



def reference_rnn(W_xh: torch.Tensor, W_hh: torch.Tensor, b: torch.Tensor) -> nn.RNN:
    """``nn.RNN`` holding the given weights (``b_ih = b``, ``b_hh = 0``), same dtype and device."""
    hidden, inputs = W_xh.shape
    rnn = nn.RNN(inputs, hidden, batch_first=True).to(device=W_xh.device, dtype=W_xh.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh)
        rnn.weight_hh_l0.copy_(W_hh)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
    return rnn


def speed_rows(args: argparse.Namespace, device: torch.device) -> list[tuple[str, str, float, float]]:
    """Time the loop and ``nn.RNN`` forward and forward + backward on one device, float32."""
    generator = torch.Generator().manual_seed(args.seed)
    scale = args.hidden ** -0.5  # nn.RNN's own initial range

    def uniform(*shape: int) -> torch.Tensor:
        return ((torch.rand(*shape, generator=generator) * 2 - 1) * scale).to(device)

    W_xh, W_hh, b = uniform(args.hidden, args.input), uniform(args.hidden, args.hidden), uniform(args.hidden)
    x = torch.randn(args.batch, args.seq, args.input, generator=generator).to(device)
    h0 = torch.zeros(args.batch, args.hidden, device=device)
    upstream = torch.randn(args.batch, args.seq, args.hidden, generator=generator).to(device)
    rnn = reference_rnn(W_xh, W_hh, b)
    ours_params = [p.requires_grad_() for p in (W_xh, W_hh, b)]

    with torch.no_grad():
        ours, theirs = loop_rnn(x, h0, W_xh, W_hh, b), rnn(x, h0[None])[0]
    if not torch.allclose(ours, theirs, atol=1e-5):
        raise SystemExit(f"{device}: the loop and nn.RNN disagree (max difference {(ours - theirs).abs().max():.2e})")

    def ours_forward() -> None:
        with torch.no_grad():
            loop_rnn(x, h0, W_xh, W_hh, b)

    def theirs_forward() -> None:
        with torch.no_grad():
            rnn(x, h0[None])

    def ours_backward() -> None:
        for p in ours_params:
            p.grad = None
        (loop_rnn(x, h0, W_xh, W_hh, b) * upstream).sum().backward()

    def theirs_backward() -> None:
        rnn.zero_grad(set_to_none=True)
        (rnn(x, h0[None])[0] * upstream).sum().backward()

    return [
        (str(device), "forward", median_seconds(ours_forward, args.repeats, device),
         median_seconds(theirs_forward, args.repeats, device)),
        (str(device), "forward+backward", median_seconds(ours_backward, args.repeats, device),
         median_seconds(theirs_backward, args.repeats, device)),
    ]


def bptt_check(args: argparse.Namespace) -> None:
    """NumPy BPTT against autograd through ``nn.RNN`` in float64 on the CPU: time ratio and gradient agreement."""
    rng = np.random.default_rng(args.seed)
    scale = args.hidden ** -0.5
    W_xh = rng.uniform(-scale, scale, (args.hidden, args.input))
    W_hh = rng.uniform(-scale, scale, (args.hidden, args.hidden))
    b = rng.uniform(-scale, scale, args.hidden)
    x = rng.normal(size=(args.batch, args.seq, args.input))
    h0 = rng.normal(scale=0.5, size=(args.batch, args.hidden))
    upstream = rng.normal(size=(args.batch, args.seq, args.hidden))

    rnn = reference_rnn(*(torch.from_numpy(a) for a in (W_xh, W_hh, b)))
    x_t, h0_t, upstream_t = (torch.from_numpy(a) for a in (x, h0, upstream))
    autograd: dict[str, torch.Tensor] = {}

    def torch_gradients() -> None:
        rnn.zero_grad(set_to_none=True)
        x_leaf, h0_leaf = x_t.clone().requires_grad_(), h0_t.clone().requires_grad_()
        (rnn(x_leaf, h0_leaf[None])[0] * upstream_t).sum().backward()
        autograd.update(W_xh=rnn.weight_ih_l0.grad, W_hh=rnn.weight_hh_l0.grad, b=rnn.bias_ih_l0.grad,
                        x=x_leaf.grad, h0=h0_leaf.grad)

    cpu = torch.device("cpu")
    numpy_time = median_seconds(lambda: numpy_bptt(x, h0, W_xh, W_hh, b, upstream), args.repeats, cpu)
    torch_time = median_seconds(torch_gradients, args.repeats, cpu)
    ours = numpy_bptt(x, h0, W_xh, W_hh, b, upstream)
    print(f"\nBPTT in float64 on the cpu, forward + backward, median of {args.repeats}")
    print(f"{'':<20}{'numpy (ms)':>12}{'autograd (ms)':>15}{'numpy/autograd':>16}")
    print(f"{'forward+backward':<20}{numpy_time * 1e3:>12.2f}{torch_time * 1e3:>15.2f}{numpy_time / torch_time:>16.2f}")
    differences = {name: float(np.abs(ours[name] - autograd[name].numpy()).max()) for name in ours}
    agree = all(np.allclose(ours[name], autograd[name].numpy(), rtol=1e-7, atol=1e-10) for name in ours)
    if not torch.allclose(rnn.bias_hh_l0.grad, rnn.bias_ih_l0.grad):
        agree = False  # both biases are added inside the tanh, so they get the same gradient
    largest = max(differences, key=differences.get)
    if not agree:
        raise SystemExit(f"gradients DISAGREE: max abs differences {differences}")
    print(f"gradients agree (W_xh, W_hh, b, x, h0): largest abs difference {differences[largest]:.1e} ({largest})")


def main() -> None:
    parser = recurrent_arguments(__doc__)
    args = parser.parse_args()
    devices = chosen_devices(parser, args)

    print(f"B={args.batch} T={args.seq} I={args.input} H={args.hidden}, float32, "
          f"{torch.get_num_threads()} CPU thread(s), median of {args.repeats}")
    print(f"{'device':<8}{'pass':<20}{'ours (ms)':>12}{'nn.RNN (ms)':>14}{'ours/nn.RNN':>14}")
    for device in devices:
        for device_name, step, ours, theirs in speed_rows(args, device):
            print(f"{device_name:<8}{step:<20}{ours * 1e3:>12.2f}{theirs * 1e3:>14.2f}{ours / theirs:>14.2f}")
    print("hidden states agree: the loop and nn.RNN give the same h_t (allclose) on every device above")
    bptt_check(args)


if __name__ == "__main__":
    main()
