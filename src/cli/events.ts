/**
 * Reads a server-sent event stream (the tenant events endpoint) with fetch, calling `onEvent`
 * for each message until `onEvent` returns true (done) or the stream ends.
 */
export async function followEvents(
  url: string,
  token: string | undefined,
  onEvent: (event: string, data: unknown) => boolean,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: options.signal,
  });
  if (!response.ok || !response.body) throw new Error(`Cannot follow events: HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        if (onEvent(event, JSON.parse(data.join('\n')))) return;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
