"""UI: one module per tab. Components, events (each with an api_name) and the conversion of
explainer results into images, plots and HTML. The only package that imports gradio."""
