"""Forward passes counted as they happen: hooks on a model count its calls and, when asked, the FLOPs
of each call with `torch.utils.flop_counter.FlopCounterMode`, so the passes a view reports are the
calls actually made (the race in `explainers.compare` uses it).
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import torch
from torch.utils.flop_counter import FlopCounterMode

# FLOPs of one call, per model and per call signature (every input's shape, a KV cache's length): a
# pass's FLOPs depend on nothing else, so each signature is counted once under FlopCounterMode (whose
# per-op bookkeeping made counting 80% of a race's time) and shared by later passes and requests.
_PASS_FLOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_SIGNATURES = 4096  # per model; beyond it the table starts again


def forget(module: torch.nn.Module) -> None:
    """Drop the FLOP counts kept for `module` (its next passes are counted afresh)."""
    _PASS_FLOPS.pop(module, None)


def call_signature(args: tuple, kwargs: dict) -> tuple | None:
    """What a forward call's FLOPs depend on, or None when an input is of a kind not recognised here."""
    parts = []
    for k, v in [*enumerate(args), *sorted(kwargs.items())]:
        if isinstance(v, torch.Tensor):
            parts.append((k, tuple(v.shape), str(v.dtype)))
        elif hasattr(v, "get_seq_length"):  # a transformers KV cache
            parts.append((k, "cache", int(v.get_seq_length())))
        elif v is None or isinstance(v, (bool, int, float, str)):
            parts.append((k, v))
        else:
            return None
    return tuple(parts)


class PassCounter:
    """Forward hooks that count calls and the FLOPs of each call. flops: "none"; "known" (only those of
    signatures counted before: a cheap lookup that leaves timings alone, `missing` says how many were
    not known); or "all" (a new signature is counted under FlopCounterMode, once, see `call_signature`)."""

    def __init__(self, module: torch.nn.Module, flops: str = "none"):
        if flops not in ("none", "known", "all"):
            raise ValueError(f"flops must be 'none', 'known' or 'all', got {flops!r}")
        self.calls, self.flops, self._mode, self._signature = 0, [], None, None
        self.how, self.counted, self.missing = flops, 0, 0  # counted: calls run under FlopCounterMode
        self._known = _PASS_FLOPS.setdefault(module, {})
        # The model is shared by concurrent requests: count only the calls made by this thread.
        self._thread = threading.get_ident()
        self._handles = [module.register_forward_pre_hook(self._pre, with_kwargs=True),
                         module.register_forward_hook(self._post)]

    @property
    def complete(self) -> bool:
        """Every call's FLOPs are known."""
        return self.how != "none" and self.missing == 0 and len(self.flops) == self.calls

    def _pre(self, _module, args, kwargs):
        if threading.get_ident() != self._thread:
            return
        self.calls += 1
        if self.how == "none":
            return
        self._signature = call_signature(args, kwargs)
        known = self._known.get(self._signature) if self._signature is not None else None
        if known is not None:
            self.flops.append(known)
        elif self.how == "known":
            self.missing += 1
        else:
            self._mode = FlopCounterMode(display=False)
            self._mode.__enter__()

    def _post(self, *_):
        if self._mode is not None and threading.get_ident() == self._thread:
            self._mode.__exit__(None, None, None)
            flops = int(self._mode.get_total_flops())
            self.flops.append(flops)
            self.counted += 1
            if self._signature is not None:
                if len(self._known) >= _MAX_SIGNATURES:
                    self._known.clear()
                self._known[self._signature] = flops
            self._mode = None

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


@contextlib.contextmanager
def counting(module: torch.nn.Module, flops: str = "none"):
    c = PassCounter(module, flops)
    try:
        yield c
    finally:
        c.remove()
