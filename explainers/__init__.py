"""Explainers: pure functions from inputs to dataclasses of numpy arrays / strings, plus plot
helpers that return matplotlib Figures or HTML. Never imports gradio."""
