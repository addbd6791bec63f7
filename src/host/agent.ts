/**
 * The SSH host's agent program: `npm run build` bundles this file (with node-ops.ts and processes.ts)
 * into dist/host/agent.mjs, which the SSH host ships to each target once per version.
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { NodeOps } from './node-ops.js';
import { rawExec, type RawExecRequest } from './processes.js';
import type { BackgroundProcess, SpawnOptions } from './types.js';

/** The agent's operations that map one to one onto NodeOps methods. */
const PLAIN_OPS = new Set([
  'readFile',
  'writeFile',
  'createExclusive',
  'mkdir',
  'tempDir',
  'remove',
  'rename',
  'stat',
  'lstat',
  'readdir',
  'readlink',
  'symlinkAtomic',
  'symlink',
  'diskUsage',
  'listFiles',
  'link',
  'linkTree',
  'httpGet',
  'freePort',
  'processAlive',
  'identity',
]);

type Message = { id: number; op: string; args: unknown[] };

/**
 * The SSH host's agent: run on the target as `node agent.mjs --zdd-agent`, it reads one JSON request
 * per line on stdin and answers one JSON line each on stdout (`{id, ok, value}` or `{id, ok: false,
 * error}`), with `{id, ev: 'out', data}` lines for streamed command output. Values never pass through
 * a shell. When stdin closes (zdd exited or was killed), it stops what it started and exits.
 */
export function serveAgent(): void {
  const ops = new NodeOps() as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const running = new Map<number, AbortController>();
  const bgs = new Map<number, BackgroundProcess>();
  const send = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  const handle = async (m: Message): Promise<unknown> => {
    const a = m.args ?? [];
    switch (m.op) {
      case 'hello': {
        for (const [k, v] of Object.entries((a[0] ?? {}) as Record<string, string>)) process.env[k] = v;
        return { pid: process.pid, node: process.version };
      }
      case 'exec': {
        const c = new AbortController();
        running.set(m.id, c);
        const req = a[0] as RawExecRequest;
        try {
          return await rawExec(req, req.stream ? (data) => send({ id: m.id, ev: 'out', data }) : undefined, c.signal);
        } finally {
          running.delete(m.id);
        }
      }
      case 'cancel':
        running.get(a[0] as number)?.abort();
        return null;
      case 'spawn': {
        const bg = (ops as unknown as NodeOps).spawn(a[0] as string[], a[1] as SpawnOptions);
        bgs.set(m.id, bg);
        void bg.exited.then(() => setTimeout(() => bgs.delete(m.id), 60_000).unref());
        return { pid: bg.pid ?? null };
      }
      case 'bgOutput':
        return bgs.get(a[0] as number)?.output() ?? '';
      case 'bgExited':
        return (await bgs.get(a[0] as number)?.exited) ?? { code: null, signal: null };
      case 'bgWaitMessage':
        await bgs.get(a[0] as number)?.waitForMessage(a[1] as string);
        return null;
      case 'bgStop':
        await bgs.get(a[0] as number)?.stop(a[1] as number | undefined);
        return null;
      case 'readBytes': {
        const b = await (ops as unknown as NodeOps).readBytes(a[0] as string);
        return b === undefined ? null : Buffer.from(b).toString('base64');
      }
      case 'writeBytes':
        return (ops as unknown as NodeOps).writeBytes(a[0] as string, Buffer.from(a[1] as string, 'base64'), a[2] as { mtimeMs?: number; mode?: number });
      default:
        if (!PLAIN_OPS.has(m.op)) throw new Error(`unknown operation ${m.op}`);
        return ops[m.op]!(...a);
    }
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      return;
    }
    handle(m).then(
      (value) => send({ id: m.id, ok: true, value: value === undefined ? null : value }),
      (err: NodeJS.ErrnoException) => send({ id: m.id, ok: false, error: { message: err?.message ?? String(err), code: err?.code, path: err?.path } }),
    );
  });
  rl.on('close', () => {
    // zdd is gone: stop what it started here (the canary, a running command), then exit.
    for (const c of running.values()) c.abort();
    void Promise.all([...bgs.values()].map((b) => b.stop(2000))).then(() => process.exit(0));
  });
}

if (process.argv.includes('--zdd-agent') && process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) serveAgent();
