"""The lesson's printable handout: one step as a self-contained HTML page (text, question, the live
view without its controls, then the answer below a fold line), written to a file for download."""

from __future__ import annotations

import html
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from explainers.lesson import STEPS, step
from explainers.lesson_views import render, reveal_text

HANDOUT_DIR = Path(tempfile.gettempdir()) / "explainer-handouts"


# ---- the printable handout --------------------------------------------------------------------

class _Printable(HTMLParser):
    """Drops what cannot print: hidden frames, sliders, buttons, scripts (keeps the visible frame)."""

    DROP = {"input", "button", "script", "output"}
    VOID = {"img", "br", "hr", "input", "meta", "link", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skip = 0  # depth inside a dropped element

    def handle_starttag(self, tag, attrs):
        hidden = any(k == "hidden" for k, _ in attrs)
        if self.skip:
            if tag not in self.VOID:
                self.skip += 1
            return
        if tag in self.DROP or hidden:
            if tag not in self.VOID:
                self.skip = 1
            return
        self.out.append(self.get_starttag_text())

    def handle_startendtag(self, tag, attrs):
        if not self.skip and tag not in self.DROP:
            self.out.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if self.skip:
            if tag not in self.VOID:
                self.skip -= 1
            return
        if tag not in self.VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)

    def handle_entityref(self, name):
        self.handle_data(f"&{name};")

    def handle_charref(self, name):
        self.handle_data(f"&#{name};")


def printable(view_html: str) -> str:
    p = _Printable()
    p.feed(view_html)
    p.close()
    return "".join(p.out)


def _md(text: str) -> str:
    """The little markdown reveal_text uses (**bold**, paragraphs) as HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return "".join(f"<p>{p}</p>" for p in out.split("\n\n"))


HANDOUT_CSS = """
.sr-only {position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap}
@page {size: A4; margin: 12mm}
body {font: 11pt/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #111; max-width: 190mm;
      margin: 0 auto; padding: 8px}
h1 {font-size: 16pt; margin: 0 0 4px} h2 {font-size: 12pt; margin: 12px 0 4px} h4 {margin: 8px 0 2px}
.meta {color: #444; font-size: 9pt}
ol.choices li {margin: 2px 0} .box {display: inline-block; width: 10px; height: 10px; border: 1px solid #111;
      margin-right: 6px}
.answer {border: 1px solid #0072b2; border-radius: 6px; padding: 4px 10px; break-inside: avoid}
.view {break-inside: avoid} .view img {max-width: 100%; image-rendering: pixelated}
.view svg {max-width: 100%; height: auto} table {border-collapse: collapse; font-size: 9pt}
td, th {padding: 1px 5px; vertical-align: top} figure {display: inline-block; margin: 2px 6px 2px 0}
figcaption, .caption {font-size: 9pt; color: #333} .fv-bar, .nt-bar {display: inline-block; height: 10px;
      background: #0072b2; -webkit-print-color-adjust: exact; print-color-adjust: exact}
.chips {display: flex; flex-wrap: wrap; gap: 3px} .tok {padding: 1px 5px; border-radius: 5px; font-family: monospace;
      -webkit-print-color-adjust: exact; print-color-adjust: exact}
.cut {border-top: 1px dashed #999; margin-top: 12px; padding-top: 6px}
"""


def handout_html(n: int) -> str:
    """Step n as one self-contained printable page: text, question, the view, then the answer below a
    fold line (images are data URIs, CSS inline: it prints offline)."""
    s = step(n)
    v = render(n)
    choices = "".join(f'<li><span class="box"></span>{html.escape(c)}</li>' for c in s.choices)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Lesson step {n}: "
            f"{html.escape(s.title)}</title><style>{HANDOUT_CSS}</style></head><body>"
            f"<p class='meta'>Transformers vs Diffusion: a guided lesson. Step {n} of {len(STEPS)}.</p>"
            f"<h1>{html.escape(s.title)}</h1><p>{html.escape(s.text)}</p>"
            f"<h2>Predict first</h2><p>{html.escape(s.question)}</p><ol class='choices' type='A'>{choices}</ol>"
            f"<div class='cut'><h2>What the model shows</h2><div class='view'>{printable(v.html)}</div>"
            f"<h2>Answer</h2><div class='answer'>{_md(reveal_text(n, s.choices[s.answer]))}</div></div>"
            f"</body></html>")


def handout_file(n: int) -> str:
    """The handout written to a file (one per step, overwritten: the folder stays bounded)."""
    text = handout_html(n)
    HANDOUT_DIR.mkdir(parents=True, exist_ok=True)
    path = HANDOUT_DIR / f"lesson-step-{int(n):02d}.html"
    tmp = path.with_suffix(f".{id(text)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return str(path)
