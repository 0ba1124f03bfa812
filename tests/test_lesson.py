"""The guided lesson (explainers/lesson*.py, ui/lesson.py): every step's content and live view,
the reveal, the handout, the links; unit tests first, then the API."""

from __future__ import annotations

import re

import pytest

from explainers import lesson_handout, lesson_live, lesson_text_steps, lesson_views
from explainers.lesson import STEPS, parse_step, step
from tests.conftest import call

T2I_READY = (lesson_live.T2I_WEIGHTS / "config.json").is_file()


# ---- content ---------------------------------------------------------------------------------

def test_lesson_has_12_to_22_steps_each_with_one_correct_answer():
    assert 12 <= len(STEPS) <= 22
    for s in STEPS:
        assert len(s.choices) >= 3 and len(set(s.choices)) == len(s.choices), s.title
        assert 0 <= s.answer < len(s.choices), s.title
        assert len(s.reveal) > 80 and (s.question.endswith("?") or s.question.endswith("...")), s.title
        sentences = len(re.findall(r"[.!?](\s|$)", s.text))
        assert 2 <= sentences <= 3, (s.title, sentences)
        assert callable(lesson_views.view_function(s.view)), s.view
    # the article's order: tokens first, what goes wrong last
    assert "token" in STEPS[0].title.lower() and "wrong" in STEPS[-1].title.lower()


def test_step_numbers_are_checked():
    assert step(1) is STEPS[0] and step(len(STEPS)) is STEPS[-1] and step(3.0) is STEPS[2]
    for bad in (0, len(STEPS) + 1, -2, 2.5, "3", None, True):
        with pytest.raises(ValueError):
            step(bad)


@pytest.mark.parametrize("raw,expect", [("3", 3), (" 12 ", 12), ("0", None), ("99", None), ("x", None),
                                        ("-1", None), ("2.5", None), ("", None)])
def test_parse_step(raw, expect):
    n, why = parse_step(raw)
    assert n == expect and (why == "") == (expect is not None)


def test_reveal_says_right_wrong_or_missing_and_refuses_foreign_answers():
    s = STEPS[5]
    right, wrong = s.choices[s.answer], s.choices[(s.answer + 1) % len(s.choices)]
    assert lesson_views.reveal_text(6, right).startswith("**Right**")
    assert "Not quite" in lesson_views.reveal_text(6, wrong) and right in lesson_views.reveal_text(6, wrong)
    assert "did not pick" in lesson_views.reveal_text(6, None)
    with pytest.raises(ValueError):
        lesson_views.reveal_text(6, "something else")


# ---- every view, on the embedded models --------------------------------------------------------

@pytest.mark.parametrize("n", range(1, len(STEPS) + 1))
def test_every_step_renders_its_live_view(n):
    v = lesson_views.render(n)
    s = STEPS[n - 1]
    if s.view == "text_to_image_view" and not T2I_READY:
        assert "not trained yet" in v.html  # a clear note, not a crash
        return
    assert "could not be drawn" not in v.html, v.html[:300]
    assert len(v.html) > 200 and v.finding
    assert re.search(r"\d", v.finding), "the finding quotes measured numbers"
    page = v.html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a namespace name, not a request
    assert "http://" not in page and "https://" not in page  # offline: images are data URIs
    for alt in re.findall(r"<img [^>]*>", v.html)[:20]:
        if "data-sheet=" in alt:  # a hidden sprite sheet (frames.sprite_sheets): decorative, its tiles carry the alt
            continue
        assert 'alt="' in alt and 'alt=""' not in alt


def test_views_are_computed_once(monkeypatch):
    lesson_views.render(1)
    before = lesson_views._render_cached.misses
    for _ in range(5):
        lesson_views.render(1)
    assert lesson_views._render_cached.misses == before


def test_a_broken_view_becomes_a_note_and_is_not_cached(monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(lesson_text_steps, STEPS[0].view, broken)
    lesson_views._render_cached.cache_clear()
    v = lesson_views.render(1)
    assert "could not be drawn" in v.html and "boom" in v.html
    monkeypatch.undo()
    assert "could not be drawn" not in lesson_views.render(1).html  # tried again, not cached


def test_measured_findings_match_the_answers():
    """The reveals claim things the views must show: checked on the numbers, not the words."""
    from explainers.attention import contextual_similarity
    from explainers.next_token import predict

    sim = contextual_similarity(*lesson_live.BANK[:2], "bank", "minilm").similarities
    assert sim[-1] < sim[0] - 0.1  # 'bank' drifts apart (step 4's answer: less alike)
    r = predict(lesson_live.NEXT_TEXT, "tiny-gpt", temperature=2.0)
    top = int(r.before.argmax())
    assert r.after[top] < r.before[top]  # temperature 2 flattens (step 6)
    g = lesson_live.generation_run()
    assert g.forward_passes == len(g.steps) == 20  # one pass per token (step 7)
    d = lesson_live.denoise_run(50, 3.0)
    assert d.label == 7 and d.steps == 50


# ---- the handout ---------------------------------------------------------------------------

def test_printable_drops_hidden_frames_and_controls():
    html_ = ('<div><input type="range"><div data-frame="0">A<img src="data:x" alt="a"></div>'
             '<div data-frame="1" hidden>B<div>C</div></div><button>Play</button><p>D &amp; E</p></div>')
    out = lesson_handout.printable(html_)
    assert "A" in out and "D &amp; E" in out and "<img" in out
    assert "B" not in out and "C" not in out and "<input" not in out and "Play" not in out


def test_handout_is_one_self_contained_printable_page(tmp_path):
    n = 4
    s = STEPS[n - 1]
    page = lesson_handout.handout_html(n)
    assert page.startswith("<!doctype html>") and "@page" in page
    assert s.question.replace("'", "&#x27;") in page or s.question in page
    for c in s.choices:
        assert c.replace("'", "&#x27;") in page or c in page
    assert "Answer" in page and "<b>Right</b>" in page  # the correct answer is on the page
    assert "<script" not in page and "<input" not in page
    assert not re.search(r'(src|href)="https?://', page)  # prints offline
    path = lesson_handout.handout_file(n)
    assert path.endswith("lesson-step-04.html") and open(path, encoding="utf-8").read() == page


# ---- links ------------------------------------------------------------------------------------

@pytest.mark.parametrize("params,expect", [
    ({"lesson": "3"}, ("lesson", 3, False)),
    ({"tab": "denoising"}, ("denoising", None, False)),
    ({"tab": "attention", "lesson": "2"}, ("attention", 2, False)),
    ({"tab": "nope"}, (None, None, True)),
    ({"lesson": "99"}, (None, None, True)),
    ({"lesson": "<script>"}, (None, None, True)),
    ({"__theme": "dark", "text": "hi"}, (None, None, False)),
])
def test_read_link(params, expect):
    from ui.lesson import read_link

    tab, n, note = read_link(params)
    assert (tab, n, bool(note)) == expect


# ---- API --------------------------------------------------------------------------------------

@pytest.mark.api
def test_api_lesson_step_reveal_and_handout(client):
    header, choices, view = call(client, "lesson_step", 2)
    assert "Step 2 of" in header and list(choices) == list(STEPS[1].choices) and "cosine" in view
    s = STEPS[1]
    assert call(client, "lesson_reveal", 2, s.choices[s.answer]).startswith("**Right**")
    path = call(client, "lesson_handout", 2)
    assert open(path, encoding="utf-8").read().startswith("<!doctype html>")


@pytest.mark.api
@pytest.mark.parametrize("bad", [0, 99, -1])
def test_api_lesson_bad_step_is_a_clear_error(client, bad):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="steps 1 to"):
        call(client, "lesson_step", bad)
    assert call(client, "lesson_step", 1)[0].startswith("### Step 1")  # the server is still up
