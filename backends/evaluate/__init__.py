"""Evaluate: the same held-out prompts through the baseline and the tuned model, scored.

The use cases (the CLI's ``eval`` and ``chat`` and the Evaluate stage call these):

``request``  what to evaluate, as one value (``EvalRequest``), and the provider guessed from a model
``setup``    the request resolved: the data, the runners (a run's model: merged, adapter or model;
             a hosted run's fine-tuned model and training bill), the judge
``session``  compare, then judge, with progress by phase and a cancel
``wording``  the benefit in words (the Results step's lines, the CLI's)
``tryit``    Try it: the base and tuned chat models, a turn's messages, a reply in a line

What they are built on:

``scoring``  exact match, token F1, ROUGE-L, means with bootstrap confidence intervals
``prompts``  the held-out evaluation set, few-shot / RAG (BM25) prompt building
``runners``  hosted (OpenAI / Azure chat completions, concurrent) and local (transformers)
``compare``  the methods side by side, benefit figures
``outcome``  the decision's measured scores
``verdicts`` the LLM judge's rubric, verdicts, estimate and report (values only)
``judge``    the optional LLM judge run over a comparison
``judge_cost``  the judge's tokens and price, estimated before it runs
``chat``, ``local_chat``, ``chat_process``  streaming chat models for Try it
"""
