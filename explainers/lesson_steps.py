"""The guided lesson's steps, as data (no gradio, no models): the article's ideas in its order.

Each step says what to look at in two or three plain sentences, asks the learner to predict
what the view will show (one correct choice), and explains why on reveal. `view` names the
function that renders the step's live view with fixed inputs (in explainers/lesson_text_steps.py
or lesson_image_steps.py; `explainers.lesson_views.view_function` finds it);
`tab` is the tab where the learner can keep exploring. Written for this app from the ideas of
`transformers-vs-diffusion.txt` (facts carried over, wording our own). `explainers.lesson` looks a
step up by its number.
"""

from __future__ import annotations

from dataclasses import dataclass

from explainers.t2i_failures import LESSON_PROMPT


@dataclass(frozen=True)
class LessonStep:
    title: str
    text: str  # two or three plain sentences
    question: str
    choices: tuple[str, ...]
    answer: int  # index of the one correct choice
    reveal: str  # why: shown after the learner commits to an answer
    view: str  # name of the view function (explainers.lesson_views.view_function finds it)
    tab: str  # the tab id to explore further


STEPS: tuple[LessonStep, ...] = (
    LessonStep(
        "Text becomes tokens",
        "A language model never sees letters or words directly. A tokenizer first cuts the text into pieces "
        "from a fixed vocabulary, and each piece becomes a number (its id) that the model looks up as a vector.",
        "How does the tokenizer treat a long, less common word such as 'unbelievably'?",
        ("It keeps it as one token, like every word",
         "It cuts it into several smaller pieces it knows",
         "It drops it, because it is not in the vocabulary"),
        1,
        "The vocabulary holds frequent words whole and builds rarer ones from pieces (sub-words), so any text can "
        "be written with a few tens of thousands of tokens and nothing is ever dropped. Two models with different "
        "vocabularies cut the same sentence differently.",
        "tokens_view", "attention"),
    LessonStep(
        "Where a token sits: positional encoding",
        "A Transformer reads all its tokens at the same time, so attention alone cannot tell 'dog bites man' from "
        "'man bites dog'. The fix is to add a second vector to each token that depends only on its position.",
        "The token 'the' appears at position 1 and again at position 6. Before the first layer, are its two "
        "vectors identical?",
        ("Yes: the same token always gets the same vector",
         "No: the position vector added to it differs, so the two vectors differ",
         "No: the model gives each occurrence a random vector"),
        1,
        "The token's own embedding is the same both times, but a learned position embedding is added, and the "
        "table has a different row for every position. Nearby positions get similar rows, far ones less similar, "
        "which is how order reaches the model. Nothing here is random: the same input always gives the same vectors.",
        "positions_view", "attention"),
    LessonStep(
        "Self-attention: every token looks at the others",
        "In each layer every token computes how relevant every other token is to it and takes a weighted mix of "
        "their vectors. Each layer has several heads, each free to learn its own way of looking.",
        "In a trained model, how does a typical head spread a token's attention?",
        ("Evenly over all the tokens", "Mostly onto a few tokens, a different pattern per head",
         "Only onto the token itself"),
        1,
        "Heads learn sharp, specialised patterns: some look at the previous or next token, some at the "
        "punctuation or the [SEP] token, some link words that belong together. An even spread would mix everything "
        "into a blur and carry no information. Move the Layer and Head sliders to compare them.",
        "attention_view", "attention"),
    LessonStep(
        "The 'bank' example: context changes meaning",
        "The word 'bank' means one thing next to 'river' and another next to 'money'. Attention lets each word "
        "take in its neighbours, so the vector for 'bank' can change with the sentence around it.",
        "Compare the vector of 'bank' in a river sentence and in a money sentence. Going from the embedding layer "
        "to the last layer, do the two vectors become...",
        ("More alike", "Less alike", "Exactly the same at every layer"),
        1,
        "At the embedding layer the two are almost the same vector (same token; only its position differs). Layer "
        "after layer, attention mixes in 'river' or 'money', and the two 'bank' vectors drift apart. A control "
        "sentence where 'bank' keeps its money sense stays closer to the money one.",
        "bank_view", "attention"),
    LessonStep(
        "The feed-forward layer: each token on its own",
        "After attention, every block sends each token's vector through a small two-layer network. It widens the "
        "vector, keeps the hidden units that switch on, narrows it again and adds the result back.",
        "While the feed-forward layer works on one token, what does it look at?",
        ("Every token in the sentence, like attention", "Only that one token's vector",
         "Only the token just before it"),
        1,
        "The same small network is applied to every position separately: running it on one vector alone gives "
        "exactly the same output. Mixing tokens is attention's job; the feed-forward layer transforms what "
        "attention gathered, and the logit lens shows it nudging the model's guess for the next token.",
        "feed_forward_view", "next_token"),
    LessonStep(
        "Next-token probabilities and sampling",
        "A generating Transformer ends with a probability for every token of its vocabulary: which one comes next? "
        "Sampling draws one of them, and temperature reshapes the odds before the draw.",
        "Raise the temperature from 1 to 2. What happens to the share of the most likely token?",
        ("It grows: the favourite wins more often", "It shrinks: the odds become flatter",
         "Nothing: temperature only changes the speed"),
        1,
        "Temperature divides the scores (logits) before the softmax. Above 1 the differences shrink, so the "
        "favourite loses share and unlikely tokens gain: the text gets more surprising. Below 1 it sharpens, and "
        "at 0 the model always takes the top token.",
        "next_token_view", "next_token"),
    LessonStep(
        "One token at a time, and what it costs",
        "The model writes by predicting one token, appending it, and running again on the longer text. Every new "
        "token needs one more pass through the whole network.",
        "To write 20 new tokens, how many forward passes does the model make?",
        ("1: it writes the whole answer at once", "20: one pass per new token", "400: twenty passes per token"),
        1,
        "Generation is autoregressive: pass k produces token k, which is needed before pass k + 1 can start. A KV "
        "cache saves re-reading the earlier tokens, not passes. Longer contexts also cost more: with the cache, each "
        "new token's pass compares it with every earlier token, so one pass grows in proportion to the length, "
        "and the whole sequence (the sum of those passes) grows with its square.",
        "generation_view", "next_token"),
    LessonStep(
        "Diffusion starts with noise: the forward process",
        "To train a diffusion model, real images are corrupted by adding Gaussian noise in many small steps. By "
        "the last step nothing of the picture is left.",
        "At the last step (t = 999 of 1,000), how much of the original digit is still visible?",
        ("About half of it", "Practically none: it is pure noise", "All of it, just darker"),
        1,
        "The signal is scaled by the square root of alpha-bar, which falls to almost zero at the last step, while "
        "the noise grows to full strength. The model is trained to predict the noise that was added at any t, "
        "which is exactly what it needs to undo the process.",
        "noising_view", "noising"),
    LessonStep(
        "Denoising, step by step",
        "Generation runs the process backwards: start from pure noise and, at each step, let the model predict "
        "the noise and remove part of it. The predicted clean image is visible at every step.",
        "How does the picture appear during the steps?",
        ("Stroke by stroke, from the top of the image down", "All at once at the very last step",
         "The whole image at once: a rough shape first, details later"),
        2,
        "Every step refines the whole image in parallel. The rough layout of the digit is settled in the noisy "
        "early steps; later steps sharpen edges and clean the background. That is the opposite of a "
        "Transformer's left-to-right writing.",
        "denoising_view", "denoising"),
    LessonStep(
        "The prompt and guidance steer the noise",
        "The prompt does not paint the image; at every step it pulls the denoising towards pictures that match "
        "it. Guidance sets how hard: the model predicts the noise with and without the prompt and pushes the "
        "result further in the prompt's direction.",
        "Same seed, same noise, prompt 'a handwritten 7'. With guidance 0 (prompt ignored), what comes out?",
        ("Always a 7", "A digit, but not necessarily a 7", "Nothing: noise stays noise without a prompt"),
        1,
        "At guidance 0 only the unconditional prediction is used, so the model draws whatever digit this noise "
        "leads to. From guidance 1 up the prompt steers each step, and the 7 appears from the same start.",
        "guidance_view", "denoising"),
    LessonStep(
        "Text to image: cross-attention ties words to places",
        "A text-to-image model reads the prompt with a Transformer text encoder. Inside the denoiser, "
        "cross-attention lets every patch of the image look at every word of the prompt.",
        "For the prompt 'a red 3 on a blue background', which patches attend most to the word '3'?",
        ("Patches in the corners", "The patches where the digit's strokes appear", "Every patch equally"),
        1,
        "A cross-attention map shows where each word is read, averaged over steps, layers and heads. The digit "
        "word is read most where the strokes form. Whether the colour words are read where their colour lands is "
        "a question for the model, not the textbook: the measured figures under the view answer it.",
        "text_to_image_view", "text_to_image"),
    LessonStep(
        "Latents: diffusing a smaller picture",
        "Latent diffusion first trains an autoencoder that squeezes an image into a small grid of numbers and "
        "back. The diffusion runs on that small grid, and only the final result is decoded to pixels.",
        "Why denoise in the latent space instead of on the pixels?",
        ("The pictures come out sharper", "Every step handles far fewer numbers, so it is much cheaper",
         "The latent space needs no noise"),
        1,
        "The latent keeps what matters for the picture in a fraction of the numbers, and every one of the many "
        "denoising steps runs at that size. The autoencoder runs only once, at the end, to turn the latent into "
        "pixels.",
        "latents_view", "text_to_image"),
    LessonStep(
        "Transformers that see, and that diffuse",
        "The families borrow from each other. A Vision Transformer cuts an image into square patches and treats "
        "them as tokens; a Diffusion Transformer replaces the U-Net inside a diffusion model with Transformer blocks.",
        "What plays the role of the tokens in a Vision Transformer?",
        ("The pixels, one token each", "Square patches of the image", "The words of a caption"),
        1,
        "The image is cut into a grid of patches, each flattened into a vector with a position embedding: from "
        "there it is the same attention machinery as for words. This app's text-to-image model is a small "
        "Diffusion Transformer: its denoiser attends over latent patches.",
        "vision_view", "vision"),
    LessonStep(
        "The two families side by side",
        "A Transformer writes its output one token after another; a diffusion model refines its whole output "
        "over many steps. The numbers below come from the runs of the earlier steps of this lesson.",
        "Which model needs more forward passes when its output gets longer?",
        ("The Transformer: one pass per token", "The diffusion model: one pass per pixel", "Neither"),
        0,
        "The Transformer's number of passes equals the number of tokens it writes. The diffusion model's equals "
        "its number of denoising steps, whatever the image size: a bigger image makes each pass more expensive, "
        "not more numerous.",
        "side_by_side_view", "compare"),
    LessonStep(
        "The same job by the other family: a transformer paints",
        "The article gives text to transformers and images to diffusion. But a picture can be cut into tokens "
        "too, and a transformer can write them, either one per forward pass or many per pass.",
        "A transformer paints a digit as 14 x 14 = 196 tokens. How many forward passes does it need writing one "
        "token per pass, and how many does MaskGIT need, unmasking many per pass?",
        ("196 and 12", "1 and 1", "50 and 50"),
        0,
        "One token per pass means one pass per token, exactly as a language model writes words. MaskGIT predicts "
        "every masked token at each pass and keeps the surest, so it finishes in a dozen passes; the diffusion "
        "model refines the whole digit in each of its 50. What separates the families here is how the output is "
        "produced, not whether it is text or a picture.",
        "painters_view", "other_family"),
    LessonStep(
        "The same job by the other family: diffusion writes text",
        "A language model can also write by unmasking: start from a row of blanks after the prompt, guess every "
        "blank at once, keep a few of the guesses, and guess again. This is a masked-diffusion language "
        "model, trained here from tiny-gpt's own weights on the same plays.",
        "It writes 64 tokens in 16 unmasking steps. How many forward passes is that, and how many does tiny-gpt "
        "need for the same 64 tokens?",
        ("16 and 64", "64 and 64", "1 and 64"),
        0,
        "Each unmasking step is one forward pass over the whole text, both ways, so 16 steps are 16 passes that "
        "reveal 4 tokens each; tiny-gpt needs one pass per token. Fewer passes is the promise of text diffusion; "
        "the price, measured below, is quality for a model this small and this briefly trained.",
        "text_diffusion_view", "other_family"),
    LessonStep(
        "The original Transformer: an encoder, a decoder, and cross-attention",
        "The first Transformer was built to translate. An encoder reads the whole source at once; a decoder writes "
        "the output one token at a time and, for every token, looks back at the encoded source through "
        "cross-attention.",
        "A small translator turns 'Friday, 5 March 2021' into '2021-03-05', one character at a time. While it "
        "writes the month digits '03', where does its best-aligned cross-attention head look?",
        ("At the weekday 'Friday'", "At the month name 'March'", "At the year '2021'",
         "Evenly at every character"),
        1,
        "To write the month's number it has to find the month, so training shapes a head of cross-attention into "
        "a pointer: the alignment the original paper drew between English and French words, here letter by letter. "
        "The weekday carries nothing it needs, and the alignment skips it. The same operation lets an image "
        "model's patches read the words of a prompt.",
        "translation_view", "translate"),
    LessonStep(
        "What goes wrong depends on the architecture",
        "Failures are built into each design. A language model predicts likely text, not true text, so it can be "
        "fluent and wrong. A diffusion model given too few steps or too strong a guidance leaves visible artifacts.",
        "Ask the Shakespeare-trained tiny-gpt 'The capital of France is'. What will it write?",
        ("'Paris', because it is a well-known fact", "Nothing: it refuses to answer",
         "A fluent, Shakespeare-like continuation that does not answer"),
        2,
        "The model learned which tokens tend to follow which in its training text; nothing in it checks facts. It "
        "writes plausible play dialogue with high confidence in some tokens, which is what a hallucination looks "
        "like at a small scale. The diffusion side fails differently: with few steps the image stays rough, with "
        "too much guidance it becomes harsh and over-saturated.",
        "failures_view", "compare"),
    LessonStep(
        "Confident and wrong: calibration",
        "A language model gives every next token a probability. If those probabilities are honest, the guesses "
        "it makes 90% sure are right 90% of the time.",
        "On a play it never saw, tiny-gpt is sometimes at least 90% sure of the next token. How often is it "
        "right then?",
        ("Always", "Roughly nine times in ten", "About half the time"),
        1,
        "Its surest guesses are mostly right but not always; across all its confidence levels the gap between "
        "how sure it is and how often it is right is the calibration error, measured below. Being sure is not "
        "being right: a fluent wrong answer can come with a high probability.",
        "calibration_view", "failures"),
    LessonStep(
        "Fixing a failure through cross-attention",
        "When a picture leaves out a word of its prompt, that word's cross-attention map is often weak. "
        "Attend-and-Excite strengthens it while the picture is drawn.",
        f"'{LESSON_PROMPT}' came out wrong. Attend-and-Excite makes its neglected word matter more. What does it "
        "change?",
        ("The model's weights: it fine-tunes on the prompt", "Only the noisy picture, nudged during the first steps",
         "The prompt: it repeats the word"),
        1,
        "Before each of the first half of the steps it measures how strongly the patches attend to the word, and "
        "moves the noisy latent one gradient step in the direction that raises that attention; the model and the "
        "prompt stay as they were. Whether that fixes the picture is measured, not assumed: see the numbers below.",
        "excite_view", "failures"),
    LessonStep(
        "What goes wrong, again: a translator has no calendar",
        "The translator learned from real dates only, in eight formats. It has never been told that a month can "
        "be too short, and it has no way to say 'I cannot'.",
        "Ask it to translate '31 February 2021', a day that does not exist. What does it write?",
        ("An error: there is no such date", "'2021-02-31': what the characters say",
         "'2021-03-03': it counts on into March"),
        1,
        "It converts characters; nothing in it checks the calendar, and every example it saw had an answer, so it "
        "always answers. How sure it is tells you little here: the number below is measured on this run. The same "
        "holds for big language models: fluent output is not a checked fact.",
        "no_calendar_view", "translate"),
)

