"""How the diffusion family fails and Attend-and-Excite (explainers/t2i_failures.py, models/t2i_sampler.py),
with the shipped tiny-t2i: the excitation's measure and update, the excited run's own attention, the
readers' scores, the views and the endpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models
from explainers import t2i_failures, t2i_failures_views
from explainers import text_to_image as t2i
from models.errors import InputError
from models.t2i_reader import NAMES, PALETTE, Reading, read
from models.t2i_sampler import excite_latent, peak_attention
from tests.conftest import call, open_app
from tests.test_browser import browser  # noqa: F401 - the shared chromium fixture

PROMPT = "please paint the numeral four green atop a black backdrop"


def test_peak_attention_renormalises_over_the_words_and_takes_the_largest_patch():
    cross = torch.tensor([[[0.5, 0.2, 0.1, 0.2], [0.6, 0.3, 0.05, 0.05]]])  # (1 image, 2 patches, 4 tokens)
    mask = torch.ones(1, 4)  # [CLS] w1 w2 [SEP]
    peak = peak_attention(cross, mask, [[1], [2]])
    # patch 0: w1 0.2 / 0.3, w2 0.1 / 0.3; patch 1: w1 0.3 / 0.35, w2 0.05 / 0.35
    assert torch.allclose(peak, torch.tensor([[0.3 / 0.35, 0.1 / 0.3]]))
    padded = peak_attention(torch.cat([cross, torch.zeros(1, 2, 1)], -1), torch.tensor([[1., 1, 1, 1, 0]]), [[1], [2]])
    assert torch.allclose(padded, peak)  # padding never counts as a word


def test_an_excitation_step_of_size_zero_changes_nothing_and_a_real_one_raises_the_peak():
    b = models.load("tiny-t2i")
    p = t2i.encode_prompt(PROMPT)
    groups = t2i.excite_groups(p.tokens, ("green",))
    x = t2i.start_noise(b, [0])
    t = torch.tensor(800)
    mask = torch.ones(1, p.states.shape[1])
    same, peak0 = excite_latent(b.model, x, p.states, mask, t, groups, 0.0)
    assert torch.equal(same, x)
    moved, _ = excite_latent(b.model, x, p.states, mask, t, groups, 80.0)
    _, peak1 = excite_latent(b.model, moved, p.states, mask, t, groups, 0.0)
    assert float(peak1) > float(peak0)


def test_excite_changes_the_run_and_records_its_own_attention():
    plain = t2i.generate(PROMPT, seed=0)
    ex = t2i.generate(PROMPT, seed=0, excite=["green"])
    assert ex.excite == ("green",) and plain.excite == ()
    assert np.allclose(ex.cross_attention.sum(axis=1), 1, atol=1e-4)  # still sums to 1 over the tokens
    assert not np.allclose(ex.cross_attention, plain.cross_attention)
    assert not np.allclose(ex.latents[0], plain.latents[0])  # the first latent was nudged before step 1
    peaks = [t2i_failures.word_peaks(r, ["green"])[0] for r in (plain, ex)]
    assert peaks[1] > 1.2 * peaks[0], peaks  # the issue's +20% bar, on this prompt


def test_the_lesson_example_is_a_measured_failure_that_exciting_fixes():
    """The page's default (t2i_failures.lesson_example) comes from failures.json; the model must still
    do what that file says: the plain picture wrong, the excited one right."""
    row = next(r for r in t2i_failures.measured()["attend_and_excite"]["rows"]
               if (r["prompt"], r["seed"]) == (t2i_failures.LESSON_PROMPT, t2i_failures.LESSON_SEED))
    c = t2i_failures.excite_compare(row["prompt"], None, row["seed"])
    meaning = (row["meaning"][0], row["meaning"][1], row["meaning"][2])
    assert c.excited[0] == row["word"]
    assert c.reading_plain != meaning and c.reading_excited == meaning


@pytest.mark.parametrize("excite, msg", [(["cat"], "not a word of the prompt"), (["a", "green", "four", "black"], "at most"),
                                         (3, "list of words")])
def test_excite_refuses_words_that_are_not_in_the_prompt(excite, msg):
    with pytest.raises(InputError, match=msg):
        t2i.generate(PROMPT, excite=excite)


def test_the_neglected_word_is_the_subject_word_attended_least():
    assert t2i_failures.subject_words(PROMPT) == ["four", "green", "black"]
    plain = t2i.generate(PROMPT, seed=0)
    peaks = t2i_failures.word_peaks(plain, ["four", "green", "black"])
    assert t2i_failures.neglected(PROMPT, 0) == ["four", "green", "black"][int(np.argmin(peaks))]
    with pytest.raises(InputError, match="names no digit or colour"):
        t2i_failures.excite_compare("a cat", None, 0)


def test_reader_scores_a_rendered_digit_as_asked():
    img = np.zeros((32, 32, 3), np.float32)
    img[:] = PALETTE[NAMES.index("black")]
    img[6:26, 15:18] = PALETTE[NAMES.index("green")]  # a green stroke on black: a 1, roughly
    r = read(img)
    assert isinstance(r, Reading) and r.background == "black" and r.digit_colour == "green"
    assert r.colour_distance("green", "black") < 0.05 < r.colour_distance("red", "black")


def test_artifacts_flags_follow_the_thresholds_and_paraphrases_agree_with_themselves():
    a = t2i_failures.artifacts(4, "green", "black", 3.0, 4)
    assert a.images.shape[0] == 4 and len(a.vit) == 4
    assert np.array_equal(a.artifact, (a.vit < t2i_failures.VIT_OK) | (a.colour_distance > t2i_failures.COLOUR_OK))
    p = t2i_failures.paraphrases(4, "green", "black", 0)
    assert len(p.readings) == len(t2i_failures.PARAPHRASES) == 8
    assert p.agreement >= p.right and 0 < p.agreement <= 1
    html = t2i_failures_views.paraphrase_view(p)
    assert html.count("<img") == 8


@pytest.mark.parametrize("args", [(4, "green", "green", 0), (12, "green", "black", 0), (4, "teal", "black", 0)])
def test_meaning_is_checked(args):
    with pytest.raises(InputError):
        t2i_failures.paraphrases(*args)


def test_api_excite_and_out_of_world(client):
    summary, view = call(client, "excite", PROMPT, "green", 0)
    assert "Excited **green**" in summary and view.count("<img") == 4
    world = call(client, "out_of_world", "a cat", 0)
    assert "cat" in world and world.count("<img") == 4
    with pytest.raises(Exception, match="not a word of the prompt"):
        call(client, "excite", PROMPT, "purple", 0)


def test_failures_tab_excites_and_says_it_eight_ways_in_the_browser(browser, app_url):  # noqa: F811
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        open_app(pg, app_url, timeout_ms=90_000)
        pg.get_by_role("tab", name="When it fails", exact=True).first.click()
        pg.get_by_role("button", name="Excite", exact=True).click()
        pg.locator("#excite-view img").nth(3).wait_for(timeout=240_000)
        assert "peak attention went from" in pg.locator("#excite-summary").inner_text()
        pg.get_by_role("button", name="Say it eight ways").click()
        pg.locator("#paraphrase-view img").nth(7).wait_for(timeout=240_000)
        assert "show what was asked" in pg.locator("#paraphrase-view").inner_text()
    finally:
        pg.close()
