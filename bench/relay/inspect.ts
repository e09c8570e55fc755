/**
 * A full garbage collection in a daemon started with `--inspect=127.0.0.1:0`, through the inspector
 * protocol, so heap figures taken after it count live objects only. Worker processes of the daemon
 * (`media.workerMode: process`) started with an inspector too (NODE_OPTIONS) print their URLs on the
 * same stderr: collectGarbageAll() reaches each of them.
 */
import WebSocket from 'ws';

const URL_RE = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/g;

/** Every inspector URL printed on `stderr` ("Debugger listening on ws://..."), first first. */
export function inspectorUrls(stderr: string): string[] {
  return [...new Set(stderr.match(URL_RE) ?? [])];
}

/** One process behind an inspector URL: a full GC, then its pid and V8 heap use. */
async function gcAt(url: string): Promise<{ pid: number; heapUsedBytes: number }> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData): void => {
        const msg = JSON.parse(data.toString()) as { id?: number; error?: { message: string }; result?: T };
        if (msg.id !== mine) return;
        ws.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(msg.error.message));
        else resolve(msg.result as T);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call('HeapProfiler.enable');
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const pid = await call<{ result: { value: number } }>('Runtime.evaluate', {
      expression: 'process.pid',
      returnByValue: true,
    });
    const heap = await call<{ usedSize: number }>('Runtime.getHeapUsage');
    return { pid: pid.result.value, heapUsedBytes: heap.usedSize };
  } finally {
    ws.close();
  }
}

/** `stderr` is the daemon's stderr so far (it prints "Debugger listening on ws://..."). */
export async function collectGarbage(stderr: string): Promise<void> {
  const url = inspectorUrls(stderr)[0];
  if (url === undefined)
    throw new Error('no inspector URL on the daemon stderr (start it with --inspect=127.0.0.1:0)');
  await gcAt(url);
}

/**
 * A full GC in every process whose inspector URL is on `stderr` (the daemon and its worker
 * processes); their V8 heap use by pid. URLs of processes that are gone are skipped.
 */
export async function collectGarbageAll(stderr: string): Promise<Map<number, number>> {
  const urls = inspectorUrls(stderr);
  if (urls.length === 0)
    throw new Error('no inspector URL on the daemon stderr (start it with --inspect=127.0.0.1:0)');
  const out = new Map<number, number>();
  for (const url of urls) {
    try {
      const r = await gcAt(url);
      out.set(r.pid, r.heapUsedBytes);
    } catch {
      // a process that has exited since it printed its URL
    }
  }
  return out;
}
