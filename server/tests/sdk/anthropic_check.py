"""Drives a running Portcullis with the official `anthropic` Python package, as Claude Code and
the SDKs do: against a model behind an OpenAI-compatible upstream (translated), and one behind
an Anthropic upstream (passed through).

Reads PORTCULLIS_BASE_URL (the gateway's origin; the package adds /v1/messages),
PORTCULLIS_KEY, PORTCULLIS_MODEL and PORTCULLIS_CLAUDE_MODEL; exits non-zero with the failed
check on stderr.
"""

import os
import sys

import anthropic

base_url = os.environ["PORTCULLIS_BASE_URL"]
key = os.environ["PORTCULLIS_KEY"]
model = os.environ["PORTCULLIS_MODEL"]
claude = os.environ["PORTCULLIS_CLAUDE_MODEL"]
client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=20)
hi = [{"role": "user", "content": "hi"}]


def check(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


ids = [m.id for m in client.models.list()]
check(f"models.list shows {model} and {claude}: {ids}", model in ids and claude in ids)
info = client.models.retrieve(claude)
check(f"models.retrieve: {info}", info.display_name == claude and info.created_at.year > 2000)

msg = client.messages.create(model=model, max_tokens=8, system="Be brief.", messages=hi)
check(f"a message: {msg.content}", msg.content[0].type == "text" and bool(msg.content[0].text))
check(f"its stop reason: {msg.stop_reason}", msg.stop_reason == "end_turn")
check(f"its usage: {msg.usage}", msg.usage.input_tokens > 0 and msg.usage.output_tokens == 8)

with client.messages.stream(model=model, max_tokens=8, messages=hi) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check(f"a streamed message: {text!r}", text == "Hello")
check(f"its usage: {final.usage}", final.usage.output_tokens == 2)
check(f"its stop reason: {final.stop_reason}", final.stop_reason == "end_turn")

count = client.messages.count_tokens(model=model, system="Be brief.", messages=hi)
check(f"tokens counted by the upstream's tokenizer: {count}", count.input_tokens == 20)

msg = client.messages.create(model=claude, max_tokens=8, messages=hi)
check(f"a message from an Anthropic upstream: {msg.content}", msg.content[0].text == "hello from claude")
check(f"its usage, cache reads apart: {msg.usage}", msg.usage.cache_read_input_tokens == 2)
with client.messages.stream(model=claude, max_tokens=8, messages=hi) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check(f"streamed from an Anthropic upstream: {text!r}", text == "Hello" and final.usage.output_tokens == 4)
count = client.messages.count_tokens(model=claude, messages=hi)
check(f"tokens counted by Anthropic: {count}", count.input_tokens == 42)

try:
    client.messages.create(model="no-such-model", max_tokens=8, messages=hi)
    check("an unknown model is refused", False)
except anthropic.NotFoundError as e:
    check(f"an unknown model is refused: {e.message}", e.status_code == 404)

try:
    anthropic.Anthropic(base_url=base_url, api_key="sk-pc-wrong", max_retries=0).messages.create(
        model=model, max_tokens=8, messages=hi
    )
    check("a wrong key is refused", False)
except anthropic.AuthenticationError as e:
    check("a wrong key is refused", e.status_code == 401)
