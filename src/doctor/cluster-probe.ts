/**
 * A program, not a module (nothing imports it): `node dist/doctor/cluster-probe.js <script>`, which
 * `zdd doctor` runs to boot the app as PM2's cluster mode does (app-lifecycle.ts). A Node cluster
 * primary standing in for PM2's: it runs the app as one cluster worker, so connections reach it
 * through the primary's round-robin. It relays IPC messages both ways and SIGINT/SIGTERM to the
 * worker, SIGKILLs the worker at ZDD_KILL_TIMEOUT as PM2 would, starts the worker with
 * `--require $ZDD_PROBE_REQUIRE` when set (zdd's reload safety, as PM2 starts it), says
 * 'zdd:left-cluster' when the worker left the cluster itself (cluster.worker.disconnect(): the
 * primary confirmed it stopped handing it connections), and ends as the worker ended (same code,
 * or the same signal).
 */
import cluster from 'node:cluster';

const script = process.argv[2];
if (!script) {
  console.error('usage: node cluster-probe.js <script>');
  process.exit(2);
}
const killTimeout = Number(process.env.ZDD_KILL_TIMEOUT) || 1600;
const preload = process.env.ZDD_PROBE_REQUIRE;
cluster.setupPrimary({ exec: script, execArgv: preload ? ['--require', preload] : [], args: [], silent: false });
const worker = cluster.fork();

worker.on('message', (m) => {
  if (process.connected) process.send?.(m);
});
process.on('message', (m) => {
  try {
    worker.send(m as Parameters<typeof worker.send>[0]);
  } catch {
    /* the worker is gone */
  }
});

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    worker.process.kill(sig);
    setTimeout(() => worker.process.kill('SIGKILL'), killTimeout).unref();
  });
}
// doctor went away: take the app with us.
process.on('disconnect', () => {
  worker.process.kill('SIGKILL');
  process.exit(1);
});

let left = false;
worker.on('disconnect', () => {
  left = worker.exitedAfterDisconnect === true;
});
worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
  const end = () => {
    if (!signal) process.exit(code ?? 0);
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, signal);
  };
  if (left && process.connected) process.send?.('zdd:left-cluster', undefined, undefined, end);
  else end();
});
