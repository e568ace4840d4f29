"""Local training: LoRA / QLoRA / full fine-tuning with transformers + peft + trl.

Nothing here imports torch, transformers, trl or peft at module level: the
launcher (``backend``), the settings, the memory estimate and the model
resolution are importable without the ``[local]`` extra, and the heavy
libraries load inside the detached worker (``python -m backends.local.worker
RUN_DIR``) or inside the function that needs them.

    settings.py       LocalSettings: adapter and hyperparameters, to/from a RunSpec
    models.py         hub id / local folder / .gguf → something transformers loads
    memory.py         GPU memory estimate from the model config; the visible GPUs
    dataset.py        the training file → conversational records (bad rows explained)
    chat_template.py  a chat template with {% generation %} markers for assistant-only loss
    sampler.py        longest batch first, so out-of-memory shows at step 1
    failures.py       exceptions → a human explanation and fitting advice
    callback.py       the TrainerCallback that keeps the run folder current
    training.py       builds and runs trl's SFTTrainer from a RunSpec
    worker.py         the detached process: lock, signals, heartbeat, final state
    launch.py         the worker's command line (plain python or ``accelerate launch``)
    backend.py        LocalBackend (the Backend protocol), cancel / save_now / resume
    merge.py          adapter + base model → 16-bit output/merged/ (written aside, then renamed)
    merge_process.py  the merge in a child process, with progress lines
    push.py           the adapter or merged model → a Hugging Face Hub repo
"""
