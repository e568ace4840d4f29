"""Evaluate: the same held-out prompts through the baseline and the tuned model, scored.

``scoring``  exact match, token F1, ROUGE-L, means with bootstrap confidence intervals
``prompts``  the held-out evaluation set, few-shot / RAG (BM25) prompt building
``runners``  hosted (OpenAI / Azure chat completions, concurrent) and local (transformers)
``compare``  the methods side by side, benefit figures, the decision's measured scores
``judge``    the optional LLM judge: a fixed rubric (1-5), strict reply parsing, the judged metric
``judge_cost``  the judge's tokens and price, estimated before it runs
"""
