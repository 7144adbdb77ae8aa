"""Drives a running Portcullis with the official `openai` Python package, as users do.

Reads PORTCULLIS_BASE_URL (…/v1), PORTCULLIS_KEY, PORTCULLIS_MODEL and PORTCULLIS_CLAUDE_MODEL
(a model behind an Anthropic upstream, reached through translation); exits non-zero with the
failed check on stderr. Every call goes through the package's own parsing, so a response the
package cannot read, or an error it cannot classify, fails here.
"""

import os
import sys

import openai

base_url = os.environ["PORTCULLIS_BASE_URL"]
key = os.environ["PORTCULLIS_KEY"]
model = os.environ["PORTCULLIS_MODEL"]
claude = os.environ["PORTCULLIS_CLAUDE_MODEL"]
client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=20)


def check(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


ids = [m.id for m in client.models.list()]
check(f"models.list shows {model}: {ids}", model in ids)
check("models.retrieve", client.models.retrieve(model).id == model)

chat = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "hi"}]
)
check("chat completion", bool(chat.choices[0].message.content))
check("chat usage", chat.usage is not None and chat.usage.total_tokens > 0)

raw = client.chat.completions.with_raw_response.create(
    model=model, messages=[{"role": "user", "content": "hi"}]
)
check("overhead header", raw.headers.get("x-portcullis-overhead-us", "").isdigit())

pieces = []
usage_chunks = 0
for chunk in client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "hi"}], stream=True
):
    if chunk.usage is not None:
        usage_chunks += 1
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
check(f"streamed chat: {pieces}", "".join(pieces) == "Hello")
check("no usage chunk unless asked", usage_chunks == 0)

usage = None
for chunk in client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "hi"}],
    stream=True,
    stream_options={"include_usage": True},
):
    if chunk.usage is not None:
        usage = chunk.usage
check("usage chunk when asked", usage is not None and usage.total_tokens == 7)

# A model behind an Anthropic upstream, through the translation, tools included.
weather = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
chat = client.chat.completions.create(
    model=claude, messages=[{"role": "user", "content": "hi"}], tools=weather
)
call = chat.choices[0].message.tool_calls[0]
check(f"claude via chat: {chat.choices[0]}", chat.choices[0].finish_reason == "tool_calls")
check(f"its tool call: {call}", call.function.name == "weather" and '"Paris"' in call.function.arguments)
check(f"its usage: {chat.usage}", chat.usage.prompt_tokens == 12 and chat.usage.completion_tokens == 4)
usage, pieces = None, []
for chunk in client.chat.completions.create(
    model=claude,
    messages=[{"role": "user", "content": "hi"}],
    stream=True,
    stream_options={"include_usage": True},
):
    usage = chunk.usage or usage
    pieces += [c.delta.content for c in chunk.choices if c.delta.content]
check(f"claude streamed via chat: {pieces}", "".join(pieces) == "Hello")
check(f"its usage chunk: {usage}", usage is not None and usage.total_tokens == 16)

# The Responses API, translated to chat completions, and through the SDK's own stream state.
response = client.responses.create(model=model, input="hi", instructions="Be brief.")
check(f"responses.create: {response.output_text}", response.output_text.startswith("hello from"))
check(f"its usage: {response.usage}", response.usage.input_tokens > 0 and response.usage.total_tokens > 0)
deltas = []
with client.responses.stream(model=model, input="hi") as stream:
    for event in stream:
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    final = stream.get_final_response()
check(f"responses streamed: {deltas}", "".join(deltas) == "Hello")
check(f"its final response: {final.status}", final.status == "completed" and final.output_text == "Hello")
check(f"its usage: {final.usage}", final.usage is not None and final.usage.total_tokens == 7)
weather_tool = [{"type": "function", "name": "weather", "parameters": {"type": "object"}}]
response = client.responses.create(model=claude, input="hi", tools=weather_tool)
calls = [item for item in response.output if item.type == "function_call"]
check(f"a function tool via Anthropic: {response.output}", len(calls) == 1 and calls[0].name == "weather")
check(f"its arguments: {calls[0].arguments}", '"Paris"' in calls[0].arguments)
names = []
with client.responses.stream(model=claude, input="hi", tools=weather_tool) as stream:
    for event in stream:
        if event.type == "response.function_call_arguments.done":
            names.append(event.arguments)
    final = stream.get_final_response()
check(f"a streamed function call: {names}", len(names) == 1 and '"Paris"' in names[0])
check(f"in the final response: {final.output}", final.output[-1].type == "function_call")
try:
    client.responses.create(model=model, input="hi", tools=[{"type": "web_search"}])
    check("a built-in tool is refused", False)
except openai.BadRequestError as e:
    check(f"built-in tool: BadRequestError {e.message}", "web_search" in e.message)

# Audio, images and moderations, passed through to the upstream.
audio = bytes(range(256)) * 400
transcript = client.audio.transcriptions.create(model=model, file=("talk.wav", audio))
check(f"audio.transcriptions: {transcript.text}", transcript.text == f"heard {len(audio)} bytes")
translated = client.audio.translations.create(model=model, file=("talk.wav", audio[:10]), response_format="text")
check(f"audio.translations as text: {translated!r}", str(translated).strip() == "heard 10 bytes")
speech_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"portcullis-speech-{os.getpid()}.mp3")
with client.audio.speech.with_streaming_response.create(model=model, voice="alloy", input="Hello") as speech:
    speech.stream_to_file(speech_path)
with open(speech_path, "rb") as f:
    spoken = f.read()
os.remove(speech_path)
check(f"audio.speech streamed to a file: {spoken!r}", spoken.startswith(b"ID3") and len(spoken) == 8)
images = client.images.generate(model=model, prompt="a cat", n=2, response_format="b64_json")
check(f"images.generate: {len(images.data)}", len(images.data) == 2 and images.data[0].b64_json)
edited = client.images.edit(model=model, image=("cat.png", b"\x89PNG\r\n\x1a\n" * 8), prompt="a hat")
check(f"images.edit: {len(edited.data)}", len(edited.data) == 1)
moderation = client.moderations.create(model=model, input="hello")
check(f"moderations.create: {moderation.results[0].flagged}", moderation.results[0].flagged is False)

completion = client.completions.create(model=model, prompt="hi")
check("completion", completion.usage.total_tokens > 0)

embedding = client.embeddings.create(model=model, input="hi")
check("embedding", len(embedding.data[0].embedding) > 0)

try:
    client.chat.completions.create(model="no-such-model", messages=[])
    check("unknown model is refused", False)
except openai.NotFoundError as e:
    check("unknown model: NotFoundError", e.code == "model_not_found")

try:
    openai.OpenAI(base_url=base_url, api_key="sk-pc-wrong", max_retries=0).models.list()
    check("a wrong key is refused", False)
except openai.AuthenticationError as e:
    check("wrong key: AuthenticationError", e.code == "invalid_api_key")

try:
    client.chat.completions.create(model=model, messages=[], extra_body={"model": ""})
    check("a missing model is refused", False)
except openai.BadRequestError as e:
    check("missing model: BadRequestError", e.param == "model")
