"""What the recurrent benchmarks share: their command line, device choice and a median timer."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch


def recurrent_arguments(description: str | None) -> argparse.ArgumentParser:
    """Options for a batch of sequences: sizes, repeats, device, CPU threads and seed."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64, help="sequences per batch (B)")
    parser.add_argument("--seq", type=int, default=100, help="time steps (T)")
    parser.add_argument("--input", type=int, default=64, help="input size (I), e.g. an embedding dimension")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size (H)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="auto: the CPU, and CUDA too when a GPU is visible")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def chosen_devices(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[torch.device]:
    """Apply ``--threads``, turn TF32 off (both sides compute in true float32) and list the devices to time."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda was asked for, but no CUDA GPU is visible")
    names = {"cpu": ["cpu"], "cuda": ["cuda"], "auto": ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])}
    return [torch.device(name) for name in names[args.device]]


def median_seconds(work: Callable[[], object], repeats: int, device: torch.device, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``repeats`` calls after ``warmup`` calls, waiting for the GPU if any.

    Two warm-up calls by default: TorchScript profiles the first call and optimises at the second.
    """
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        synchronize()
        started = time.perf_counter()
        work()
        synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
