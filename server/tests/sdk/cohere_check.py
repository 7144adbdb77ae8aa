"""Drives a running Portcullis's rerank with the official `cohere` Python package, v1 and v2
clients, and with a Jina-shaped request, as RAG tools send them.

Reads PORTCULLIS_BASE_URL (the gateway's root), PORTCULLIS_KEY and PORTCULLIS_MODEL; exits
non-zero with the failed check on stderr.
"""

import os
import sys

import cohere
import httpx

base_url = os.environ["PORTCULLIS_BASE_URL"].rstrip("/")
key = os.environ["PORTCULLIS_KEY"]
model = os.environ["PORTCULLIS_MODEL"]


def check(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


documents = ["Paris is in France.", "Berlin is in Germany.", "Rome is in Italy."]

v2 = cohere.ClientV2(api_key=key, base_url=base_url, timeout=20)
ranked = v2.rerank(model=model, query="Where is Paris?", documents=documents, top_n=2)
check(f"ClientV2.rerank: {ranked.results}", len(ranked.results) == 2)
check("its best result", ranked.results[0].index == 0 and ranked.results[0].relevance_score > 0)

v1 = cohere.Client(api_key=key, base_url=base_url, timeout=20)
ranked = v1.rerank(model=model, query="Where is Paris?", documents=documents, return_documents=True)
check(f"Client.rerank: {ranked.results}", len(ranked.results) == 3)
check("with its documents", ranked.results[0].document.text == documents[0])

# Jina's shape, at the root as Jina's and Xinference's clients call it.
jina = httpx.post(
    f"{base_url}/rerank",
    headers={"Authorization": f"Bearer {key}"},
    json={"model": model, "query": "Where?", "documents": [{"text": d} for d in documents], "top_n": 1},
    timeout=20,
)
check(f"Jina-shaped rerank: {jina.text}", jina.status_code == 200 and len(jina.json()["results"]) == 1)

try:
    cohere.ClientV2(api_key="sk-pc-wrong", base_url=base_url).rerank(model=model, query="q", documents=["a"])
    check("a wrong key is refused", False)
except Exception as e:  # cohere raises its own UnauthorizedError
    check(f"wrong key refused: {type(e).__name__}", getattr(e, "status_code", None) == 401)
