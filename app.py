"""Transformers vs Diffusion, explained on real models you can poke at.

    python app.py                   # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 7860 --share

Wiring only: each tab lives in `ui/`, the computations in `explainers/`, the models in
`models/`. Models load lazily and are warmed in a background thread after the server is up,
so the page appears before any model is loaded.
"""

from __future__ import annotations

import argparse
import logging
import os

import gradio as gr

from store import THREADS_PER_SLOT, share_the_gil, stats, warm_up
from ui import (
    attention,
    compare,
    denoising,
    failures,
    lesson,
    next_token,
    noising,
    other_family,
    sessions,
    text_to_image,
    translate,
    vision,
)
from ui.common import CSS_PATH, THEME

log = logging.getLogger("explainer")
TITLE = "Transformers vs Diffusion: an interactive explainer"
INTRO = """
# Transformers vs Diffusion, seen from the inside
Two model families power today's AI. A **Transformer** reads a sequence and writes one token
at a time, deciding with *attention* which earlier tokens matter. A **Diffusion model** starts
from pure noise and refines a whole image at once, step by step. Every tab runs a real model on
this computer, with no network: type your own input and look inside.
"""


def build() -> gr.Blocks:
    if not sessions.install():  # a visitor's first event no longer serialises every block (ui/sessions.py)
        log.warning("ui.sessions: this Gradio's SessionState has changed shape; sessions stay eager (slower "
                    "first presses for a class). tests/test_serving.py fails until ui/sessions.py is updated.")
    with gr.Blocks(title=TITLE) as blocks:
        gr.Markdown(INTRO)
        link_note = gr.Markdown(visible=False, elem_id="link-note")  # ?tab= / ?lesson= values it ignored
        with gr.Tabs(elem_id="main-tabs") as tabs:
            with gr.Tab("Attention", id="attention"):
                attention.build(blocks)
            with gr.Tab("Next token", id="next_token"):
                next_token.build(blocks)
            with gr.Tab("Translate", id="translate"):  # the third shape: encoder + decoder, joined by cross-attention
                translate.build(blocks)
            with gr.Tab("Noising", id="noising"):  # the forward process first: denoising reverses it
                noising.build(blocks)
            with gr.Tab("Denoising", id="denoising"):
                denoising.build(blocks)
            with gr.Tab("Vision", id="vision"):  # a transformer reads a digit; diffusion edits it
                vision.build(blocks)
            with gr.Tab("Text to image", id="text_to_image"):  # the modern stack: words steer latent diffusion
                text_to_image.build(blocks)
            with gr.Tab("Side by side", id="compare"):
                compare.build(blocks)
            with gr.Tab("Same job, other family", id="other_family"):  # a transformer paints; crossing the line
                other_family.build(blocks)
            with gr.Tab("When it fails", id="failures"):  # failure modes, measured
                failures.build(blocks)
            with gr.Tab("Lesson", id="lesson"):  # a guided walk through the article, step by step
                lesson_ui = lesson.build(blocks)
        lesson.wire_links(blocks, tabs, lesson_ui, link_note)  # ?tab=<id> and ?lesson=N
        gr.api(stats, api_name="store_stats")  # bytes the run store holds, of its budget (EXPLAINER_CACHE_MB)
    blocks.queue(default_concurrency_limit=2, max_size=128)
    return blocks


demo = build()


def launch_kwargs() -> dict:
    """What every launch passes (main() and the tests): the theme, the page's CSS file (ui/static/), limits."""
    return dict(theme=THEME, css_paths=[CSS_PATH], allowed_paths=[], max_file_size="10mb", show_error=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=TITLE)
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--share", action="store_true", help="create a public gradio.live link (needs network)")
    p.add_argument("--no-warm", action="store_true", help="do not preload the embedded models")
    args = p.parse_args(argv)
    import torch

    # The queue runs two model calls at once; the cores shared out between them avoid oversubscribing
    # small CPUs (measured on 2 cores under load: 15 ms instead of 277 ms for one next-token pass). A
    # computation sets its own threads while it holds its slots (explainers.compute.compute_slot); this
    # is the default every new thread starts from.
    torch.set_num_threads(THREADS_PER_SLOT)
    share_the_gil()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True,
                **launch_kwargs())
    if not args.no_warm:
        warm_up()
    demo.block_thread()


if __name__ == "__main__":
    main()
