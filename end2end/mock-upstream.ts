import http from 'node:http';
import type { AddressInfo } from 'node:net';

/// A tiny OpenAI-compatible server for the browser tests: lists two models, answers chat
/// completions plainly or as a stream of server-sent events (with usage when asked), and
/// counts what it received.
export async function startMockUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'llama', object: 'model' }, { id: 'mistral', object: 'model' }] }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { message: 'not here', type: 'invalid_request_error', code: 'not_found' } }));
        return;
      }
      const request = JSON.parse(body || '{}');
      const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
      if (request.stream) {
        res.setHeader('content-type', 'text/event-stream');
        const words = ['Hello', ' from', ' the', ' mock'];
        let i = 0;
        const tick = () => {
          if (i < words.length) {
            res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', model: request.model, choices: [{ index: 0, delta: { content: words[i] } }] })}\n\n`);
            i += 1;
            setTimeout(tick, 60);
            return;
          }
          if (request.stream_options?.include_usage) {
            res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
          }
          res.end('data: [DONE]\n\n');
        };
        tick();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        id: 'cmpl-e2e', object: 'chat.completion', model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the mock' }, finish_reason: 'stop' }],
        usage,
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
