/**
 * The answers a process's HTTP servers give, counted by the code zdd already runs there (the
 * zero-config reload safety and zdd/runtime; part of zdd/runtime, no dependencies): every response,
 * and those with a 5xx status. Under PM2 the counts go to PM2 as two custom metrics ("zdd answers",
 * "zdd 5xx", shown by `pm2 show`), which zdd reads back with the process list during a deploy's bake:
 * no Nginx log configuration needed.
 */
import type { Server } from 'node:http';

/** Responses finished so far by the servers counted, and how many of them had a 5xx status. */
export interface AnswerCounts {
  answers: number;
  errors: number;
}

interface Counting extends AnswerCounts {
  servers: WeakSet<Server>;
  reporting: boolean;
}

/** One count per process, whichever copy of this code (the preload's, the app's zdd/runtime) counts. */
function counting(): Counting {
  const g = globalThis as unknown as Record<symbol, Counting | undefined>;
  const key = Symbol.for('zdd.answers');
  g[key] ??= { answers: 0, errors: 0, servers: new WeakSet(), reporting: false };
  return g[key];
}

export function answerCounts(): AnswerCounts {
  const c = counting();
  return { answers: c.answers, errors: c.errors };
}

/** Count the answers `server` gives (once per server, however many times this is called). */
export function countAnswers(server: Server): void {
  const c = counting();
  if (c.servers.has(server)) return;
  c.servers.add(server);
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      c.answers++;
      if (res.statusCode >= 500) c.errors++;
    });
  });
}

/** How often the counts go to PM2: often enough for a bake to see a failing release within a second. */
const REPORT_MS = 250;

/**
 * Under PM2 (`pm_id` set, an IPC channel): send the counts as PM2 custom metrics (`axm:monitor`, which
 * PM2 keeps in the process's `axm_monitor`), at once and then whenever they change. `send` is the
 * process's own send (the preload wraps process.send to see `ready`).
 */
export function reportAnswersToPm2(
  send: ((message: unknown, callback: (err: Error | null) => void) => unknown) | undefined = process.send?.bind(process),
): void {
  const c = counting();
  if (c.reporting || !send || process.env.pm_id === undefined) return;
  c.reporting = true;
  let last = '';
  const timer = setInterval(() => report(), REPORT_MS);
  timer.unref();
  const report = () => {
    // A worker leaving the cluster closes the channel before it exits: stop, and never send into a
    // closed channel (without a callback Node would raise that as an 'error' on the process).
    if (process.connected === false) return clearInterval(timer);
    const now = `${c.answers}/${c.errors}`;
    if (now === last) return;
    last = now;
    try {
      send({ type: 'axm:monitor', data: { 'zdd answers': { value: c.answers }, 'zdd 5xx': { value: c.errors } } }, () => {});
    } catch {
      // The channel closed meanwhile: nothing left to report to.
    }
  };
  report();
}
