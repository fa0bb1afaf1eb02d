"""Topic 4: hand-written GRU and LSTM layers against ``nn.GRU`` and ``nn.LSTM``, side by side.

The hand-written layers are what a student writes after the lecture: a Python loop over time with
torch operations, and one fused matrix product per step for all the gates (the input side of every
step is one product before the loop, ``x W_ih^T`` for all ``t`` at once). GRU, gates in PyTorch's
order ``r, z, n``:

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr),   z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz),
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h;

LSTM, gates ``i, f, g, o``:

    i, f, o = sigmoid(...),  g = tanh(...),   c' = f * c + i * g,   h' = o * tanh(c').

Each layer runs as plain Python (eager) and, when ``torch.jit.script`` can compile it, as TorchScript;
when it cannot, the script says so and why, and leaves that column out. Before timing, every version
gets the weights of a freshly initialised ``nn.GRU``/``nn.LSTM`` and must give the same outputs (and,
after ``backward``, the same weight gradients) on the same input; the script exits with an error
when they differ. Then it times forward (under ``torch.no_grad``) and forward + backward (of
``sum(outputs * upstream)`` for a fixed random ``upstream``): the median of ``--repeats`` runs after
warm-up, on the CPU and on CUDA when a GPU is visible, and prints the ratios hand / nn measured in
the same run.

    .venv/bin/python benchmarks/recurrent_cells.py [--batch 64] [--seq 100] [--input 64] [--hidden 256]
                                                   [--repeats 5] [--device auto|cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn

from recurrent_timing import chosen_devices, median_seconds, recurrent_arguments

CELLS = {"GRU": nn.GRU, "LSTM": nn.LSTM}


def gru_layer(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
              bias_hh: Tensor) -> Tensor:
    """A GRU over a batch-first sequence: ``x`` ``(B, T, I)``, ``h0`` ``(B, H)`` -> every ``h_t``, ``(B, T, H)``.

    Weights as in ``nn.GRU``: ``weight_ih`` ``(3H, I)``, ``weight_hh`` ``(3H, H)``, biases ``(3H,)``,
    each stacking the gates ``r, z, n``.
    """
    input_gates = x @ weight_ih.t() + bias_ih  # (B, T, 3H): the input side of all steps, one product
    h = h0
    outputs = []
    # unbind, not input_gates[:, t]: the backward of one slice writes a zero tensor as large as the whole
    # input_gates, T times over; the backward of unbind stacks the T gradients once.
    for step_gates in input_gates.unbind(1):
        state_gates = h @ weight_hh.t() + bias_hh  # (B, 3H): all gates in one product
        input_r, input_z, input_n = step_gates.chunk(3, 1)
        state_r, state_z, state_n = state_gates.chunk(3, 1)
        r = torch.sigmoid(input_r + state_r)
        z = torch.sigmoid(input_z + state_z)
        n = torch.tanh(input_n + r * state_n)
        h = (1 - z) * n + z * h  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, 1)


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
               bias_hh: Tensor) -> Tensor:
    """An LSTM over a batch-first sequence: ``x`` ``(B, T, I)``, ``h0``, ``c0`` ``(B, H)`` -> all ``h_t`` ``(B, T, H)``.

    Weights as in ``nn.LSTM``: ``weight_ih`` ``(4H, I)``, ``weight_hh`` ``(4H, H)``, biases ``(4H,)``,
    each stacking the gates ``i, f, g, o``.
    """
    input_gates = x @ weight_ih.t() + bias_ih  # (B, T, 4H)
    h, c = h0, c0
    outputs = []
    for step_gates in input_gates.unbind(1):  # unbind, as in gru_layer
        gates = step_gates + h @ weight_hh.t() + bias_hh  # (B, 4H): all gates in one product
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
        h = torch.sigmoid(o) * torch.tanh(c)                          # (B, H)
        outputs.append(h)
    return torch.stack(outputs, 1)


def script_or_reason(function: Callable) -> tuple[Callable | None, str]:
    """Compile ``function`` with ``torch.jit.script``.

    Returns the compiled function and the first warning it raised (``""`` when none), or ``None`` and
    why it could not be compiled.
    """
    jit = getattr(torch, "jit", None)
    if jit is None or not hasattr(jit, "script"):
        return None, f"torch {torch.__version__} has no torch.jit.script"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # TorchScript is deprecated in recent torch: a note, not an error
            compiled = jit.script(function)
    except Exception as error:  # any compiler failure means: report and skip, never crash the benchmark
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return None, f"{type(error).__name__}: {first_line}"
    return compiled, str(caught[0].message) if caught else ""



class Case:
    """One cell kind on one device: ``nn.GRU``/``nn.LSTM``, its weights as leaf tensors, inputs, ``upstream``."""

    def __init__(self, kind: str, args: argparse.Namespace, device: torch.device) -> None:
        torch.manual_seed(args.seed)
        self.kind, self.device = kind, device
        self.reference = CELLS[kind](args.input, args.hidden, batch_first=True).to(device)
        # The hand-written layer gets copies of the very same weights, as separate leaves with their own .grad.
        self.weights = [p.detach().clone().requires_grad_() for p in
                        (self.reference.weight_ih_l0, self.reference.weight_hh_l0,
                         self.reference.bias_ih_l0, self.reference.bias_hh_l0)]
        generator = torch.Generator().manual_seed(args.seed)
        self.x = torch.randn(args.batch, args.seq, args.input, generator=generator).to(device)
        self.h0 = (0.5 * torch.randn(args.batch, args.hidden, generator=generator)).to(device)
        self.c0 = (0.5 * torch.randn(args.batch, args.hidden, generator=generator)).to(device)
        self.upstream = torch.randn(args.batch, args.seq, args.hidden, generator=generator).to(device)

    def run_reference(self) -> Tensor:
        """``nn.GRU``/``nn.LSTM`` outputs, ``(B, T, H)``."""
        state = self.h0[None] if self.kind == "GRU" else (self.h0[None], self.c0[None])
        return self.reference(self.x, state)[0]

    def run_hand(self, layer: Callable) -> Tensor:
        """The hand-written ``layer`` (eager or scripted) on the same inputs and weights, ``(B, T, H)``."""
        if self.kind == "GRU":
            return layer(self.x, self.h0, *self.weights)
        return layer(self.x, self.h0, self.c0, *self.weights)

    def reference_gradients(self) -> list[Tensor]:
        self.reference.zero_grad(set_to_none=True)
        (self.run_reference() * self.upstream).sum().backward()
        return [p.grad for p in (self.reference.weight_ih_l0, self.reference.weight_hh_l0,
                                 self.reference.bias_ih_l0, self.reference.bias_hh_l0)]

    def hand_gradients(self, layer: Callable) -> list[Tensor]:
        for weight in self.weights:
            weight.grad = None
        (self.run_hand(layer) * self.upstream).sum().backward()
        return [weight.grad for weight in self.weights]

    def largest_difference(self, layer: Callable) -> tuple[float, float]:
        """Largest absolute differences from the reference: outputs, and weight gradients."""
        with torch.no_grad():
            outputs = float((self.run_hand(layer) - self.run_reference()).abs().max())
        gradients = max(float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1.0))
                        for ours, theirs in zip(self.hand_gradients(layer), self.reference_gradients()))
        return outputs, gradients

    def timings(self, layer: Callable | None, repeats: int) -> dict[str, float | None]:
        """Median seconds of forward and of forward + backward for ``layer``; ``None`` when it is ``None``."""
        if layer is None:
            return {"forward": None, "forward+backward": None}

        def forward() -> None:
            with torch.no_grad():
                self.run_hand(layer)

        return {"forward": median_seconds(forward, repeats, self.device),
                "forward+backward": median_seconds(lambda: self.hand_gradients(layer), repeats, self.device)}

    def reference_timings(self, repeats: int) -> dict[str, float]:
        def forward() -> None:
            with torch.no_grad():
                self.run_reference()

        return {"forward": median_seconds(forward, repeats, self.device),
                "forward+backward": median_seconds(self.reference_gradients, repeats, self.device)}


def main() -> None:
    parser = recurrent_arguments(__doc__)
    args = parser.parse_args()
    devices = chosen_devices(parser, args)

    layers = {"GRU": gru_layer, "LSTM": lstm_layer}
    scripted: dict[str, Callable | None] = {}
    notes = set()
    for kind, layer in layers.items():
        scripted[kind], note = script_or_reason(layer)
        if scripted[kind] is None:
            print(f"TorchScript skipped for the {kind} layer: {note}")
        elif note:
            notes.add(note)
    for note in sorted(notes):
        print(f"TorchScript compiled both layers; torch warned: {note}")

    print(f"B={args.batch} T={args.seq} I={args.input} H={args.hidden}, float32, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU thread(s), median of {args.repeats}")
    header = (f"{'device':<8}{'cell':<6}{'pass':<18}{'hand (ms)':>11}{'script (ms)':>13}{'nn (ms)':>10}"
              f"{'hand/nn':>9}{'script/nn':>11}")
    print(header)
    worst = {"outputs": 0.0, "gradients": 0.0}
    for device in devices:
        for kind, layer in layers.items():
            case = Case(kind, args, device)
            for label, version in (("hand-written", layer), ("TorchScript", scripted[kind])):
                if version is None:
                    continue
                outputs, gradients = case.largest_difference(version)
                if not (outputs < 1e-4 and gradients < 1e-4):
                    raise SystemExit(f"{device} {kind}: the {label} layer DISAGREES with nn.{kind}: largest "
                                     f"output difference {outputs:.2e}, relative gradient difference {gradients:.2e}")
                worst["outputs"] = max(worst["outputs"], outputs)
                worst["gradients"] = max(worst["gradients"], gradients)
            hand = case.timings(layer, args.repeats)
            script = case.timings(scripted[kind], args.repeats)
            reference = case.reference_timings(args.repeats)
            for step in ("forward", "forward+backward"):
                ours, compiled, theirs = hand[step], script[step], reference[step]
                script_ms = f"{compiled * 1e3:>13.2f}" if compiled is not None else f"{'skipped':>13}"
                script_ratio = f"{compiled / theirs:>11.2f}" if compiled is not None else f"{'-':>11}"
                print(f"{str(device):<8}{kind:<6}{step:<18}{ours * 1e3:>11.2f}{script_ms}{theirs * 1e3:>10.2f}"
                      f"{ours / theirs:>9.2f}{script_ratio}")
    versions = "loop" + (" and TorchScript" if any(v is not None for v in scripted.values()) else "")
    print(f"outputs agree: the hand-written GRU and LSTM ({versions}) match nn.GRU and nn.LSTM with the same "
          f"weights on {', '.join(str(d) for d in devices)} (largest output difference {worst['outputs']:.1e}, "
          f"largest relative weight-gradient difference {worst['gradients']:.1e})")


if __name__ == "__main__":
    main()
