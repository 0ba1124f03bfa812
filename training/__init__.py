"""Offline scripts that make, evaluate and document the embedded models (`python -m training.<script>`).

train_tiny_*: train an embedded model and write it under assets/models/; eval_tiny_*: the figures
of its model card; card_tiny_t2i: writes the tiny-t2i model card from the logs; lm_eval: the
perplexity and baselines of the language model. Nothing at run time (app.py, ui/, explainers/,
models/) imports this package; it may import models and explainers, as benchmarks/ does.
"""
