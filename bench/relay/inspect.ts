/**
 * A full garbage collection in a daemon started with `--inspect=127.0.0.1:0`, through the inspector
 * protocol, so heap figures taken after it count live objects only.
 */
import WebSocket from 'ws';

/** `stderr` is the daemon's stderr so far (it prints "Debugger listening on ws://..."). */
export async function collectGarbage(stderr: string): Promise<void> {
  const url = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(stderr)?.[0];
  if (url === undefined)
    throw new Error('no inspector URL on the daemon stderr (start it with --inspect=127.0.0.1:0)');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<void>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData): void => {
        const msg = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (msg.id !== mine) return;
        ws.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(msg.error.message));
        else resolve();
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method }));
    });
  try {
    await call('HeapProfiler.enable');
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
  } finally {
    ws.close();
  }
}
