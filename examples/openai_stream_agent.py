"""An agent as it is: the openai SDK with its defaults (https://api.openai.com/v1, OPENAI_API_KEY),
streaming its model's answer to the task's instruction. Nothing in it knows about the sandbox: run
with `sandbox run --route api.openai.com=http://127.0.0.1:8000/v1 TASK -- python examples/openai_stream_agent.py`
and the model server on 127.0.0.1:8000 (vLLM, llama.cpp's server) answers, through the proxy."""

from __future__ import annotations

import os
import sys

import openai

client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-not-needed-by-a-local-server"))
model = os.environ.get("AGENT_MODEL") or client.models.list().data[0].id  # a local server serves one model
stream = client.chat.completions.create(
    model=model, stream=True,
    messages=[{"role": "user", "content": os.environ.get("SANDBOX_TASK_INSTRUCTION", "Say hello.")}])
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
print()
