"""bertviz's interactive head and model views of attention, packaged to run with no network: its page
goes into an `<iframe srcdoc>` with d3 (from mpld3) and jQuery (from xstatic-jquery) inlined, and a
ten-line stand-in for require.js."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import mpld3
import torch
import xstatic.pkg.jquery as jq
from bertviz import head_view, model_view

from explainers.attention import AttentionResult
from models.errors import InputError

BERTVIZ_MAX_TOKENS = 40  # bertviz's payload grows with layers x heads x T^2


@lru_cache(maxsize=1)
def _local_js() -> str:
    """d3 v5 (from mpld3) and jQuery (from xstatic-jquery), plus a 10-line stand-in for
    require.js: bertviz only calls `require.config` and `requirejs([...], callback)`."""
    d3 = (Path(mpld3.__file__).parent / "js" / "d3.v5.min.js").read_text(encoding="utf-8")
    jquery = (Path(jq.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")
    shim = """
window.requirejs = window.require = function (deps, callback) {
  var found = {jquery: window.jQuery, d3: window.d3};
  callback.apply(null, deps.map(function (d) { return found[d]; }));
};
window.require.config = window.requirejs.config = function () {};
"""
    return f"<script>{d3}</script>\n<script>{jquery}</script>\n<script>{shim}</script>"


def bertviz_html(result: AttentionResult, view: str = "head", max_tokens: int = BERTVIZ_MAX_TOKENS) -> str:
    """bertviz's head view or model view as an `<iframe srcdoc>` that needs no network."""
    if view not in ("head", "model"):
        raise InputError(f"view must be 'head' or 'model', not {view!r}")
    t = min(len(result.tokens), max_tokens)
    att = [torch.tensor(result.weights[i, :, :t, :t]).unsqueeze(0) for i in range(result.layers)]
    fn = head_view if view == "head" else model_view
    page = fn(att, result.tokens[:t], html_action="return").data
    start = page.index("<script src=")
    page = page[: start] + page[page.index("</script>", start) + len("</script>"):]
    page = re.sub(r"require\.config\(\{.*?\}\);", "", page, count=1, flags=re.DOTALL)  # CDN paths: unused
    doc = (f"<!doctype html><html><head><meta charset='utf-8'>{_local_js()}</head>"
           f"<body style='background:#fff;margin:8px'>{page}</body></html>")
    height = 620 if view == "head" else 140 + 100 * result.layers
    note = (f"<p class='caption'>Showing the first {t} of {len(result.tokens)} tokens in this interactive view.</p>"
            if t < len(result.tokens) else "")
    hint = ("Hover over a token to see where it looks; click a colour square to show or hide a head. "
            "bertviz numbers layers and heads from 0."
            if view == "head" else "Each small square is one head (rows = layers, numbered from 0 by bertviz). "
                                   "Click one to enlarge it.")
    return (f"<p class='caption'>{hint}</p>{note}"
            f"<iframe class='bertviz' title='bertviz {view} view' sandbox='allow-scripts' "
            f"style='width:100%;height:{height}px;border:1px solid #ddd;border-radius:6px' "
            f"srcdoc=\"{html.escape(doc, quote=True)}\"></iframe>")
