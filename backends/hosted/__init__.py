"""Hosted fine-tuning through the official ``openai`` SDK: OpenAI and Azure OpenAI.

``settings``  connection settings (no secrets) and the SDK client
``errors``    SDK exceptions → plain explanations, secrets redacted
``api``       upload, create, control and list jobs
``mirror``    one job mirrored into a run folder, exactly once per event
``follower``  the detached process that runs the mirror until the job ends
``backend``   ``HostedBackend`` and ``OpenAIBackend`` (the ``Backend`` protocol)
``azure``     ``AzureBackend``: Azure's file rules, training tiers, deployment

The ``openai`` package is imported lazily, inside functions.
"""
