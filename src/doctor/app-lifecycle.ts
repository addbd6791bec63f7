/**
 * `app boot`, `app reload safety`, `app SIGINT`, `app keep-alive`, `app exit`: doctor boots the app
 * once on this machine, on a spare port, as PM2's cluster mode runs it (cluster-probe.ts), and
 * watches what PM2 relies on during a reload. Its own file because it is one long story, read top
 * to bottom: boot, ready and health, then SIGINT with a request in flight and an idle connection.
 */
import path from 'node:path';
import type { ZddConfig } from '../config/schema.js';
import { packagePath } from '../core/package-root.js';
import { tail } from '../host/local.js';
import type { Host } from '../host/types.js';
import { RELOAD_SAFETY_FILE } from '../pm2/reload-safety.js';
import { closesAfter, rawConnect, reloadSafetyRow, responseComplete, sleep, statusOf, until, type RawConn } from './app.js';
import { row, type Check } from './check.js';

/** After server.close(), how long a cluster worker that does not leave the cluster should stay alive. */
const HANDOFF_WINDOW_MS = 1000;

/** The stand-in for PM2's cluster primary: a program of its own, compiled next to this file. */
const CLUSTER_PROBE = packagePath('dist', 'doctor', 'cluster-probe.js');

/** What probeApp boots: a folder holding backend.script, and how to name it in the boot row. */
export interface AppUnderTest {
  cwd: string;
  script: string;
  /** `a staged copy installed with \`npm ci --omit=dev\` (3.1 s; cached for the next doctor)`, `release 2026… (current)`. */
  label: string;
  /** ZDD_RELEASE for the app. */
  release: string;
}

/**
 * Boot the app as PM2's cluster mode runs it (a cluster worker of a stand-in primary, cluster-probe.ts;
 * IPC, free PORT, the app's env) and check what PM2 relies on:
 * `ready` and the health check; then, with an idle keep-alive connection open and a request whose
 * headers are not finished yet, send SIGINT, finish the request, and see whether it is answered,
 * how the idle connection is closed (FIN or RST) and how long the exit takes against killTimeout.
 * `seen.output` gets everything the app printed, once it has stopped.
 */
export async function probeApp(config: ZddConfig, host: Host, app: AppUnderTest, seen: { output: string } = { output: '' }): Promise<Check[]> {
  const b = config.backend!;
  const waitReady = b.waitReady;
  const hpath = config.healthcheck.path;
  const port = await host.freePort();
  const proc = host.spawn([process.execPath, CLUSTER_PROBE, path.join(app.cwd, app.script)], {
    cwd: app.cwd,
    ipc: true,
    env: {
      ...b.env,
      PORT: String(port),
      ZDD_RELEASE: app.release,
      ZDD_DOCTOR: '1',
      ZDD_KILL_TIMEOUT: String(b.killTimeout),
      // As PM2 starts it: with zdd's reload safety (the copy this zdd ships), unless backend.reloadSafe is false.
      ...(b.reloadSafe ? { ZDD_PROBE_REQUIRE: packagePath('dist', 'runtime', RELOAD_SAFETY_FILE) } : {}),
    },
  });
  const startedAt = Date.now();
  let readyAt = 0;
  void proc.waitForMessage('ready').then(() => (readyAt = Date.now()));
  let leftCluster = false;
  void proc.waitForMessage('zdd:left-cluster').then(() => (leftCluster = true));
  let exit: { code: number | null; signal: string | null; at: number } | undefined;
  void proc.exited.then((e) => (exit = { ...e, at: Date.now() }));
  // For a one-line row: the error line of a crash (stack frames say little), else the last lines.
  const out = () => {
    const lines = tail(proc.output())
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const err = lines.filter((l) => /^[\w.$]*(Error|Exception)\b[^\n]*:/.test(l)).pop();
    return err ?? lines.slice(-3).join(' | ');
  };
  const rows: Check[] = [];
  const conns: RawConn[] = [];
  try {
    // 1. ready and the health check, as the canary would see them.
    const bootBy = startedAt + Math.max(b.readyTimeout, config.healthcheck.timeout);
    let health = 0;
    let last = 'no answer';
    while (!exit && Date.now() < bootBy) {
      try {
        const r = await host.httpGet(`http://127.0.0.1:${port}${hpath}`, Math.max(500, Math.min(5000, bootBy - Date.now())));
        last = `answered ${r.status}`;
        if (r.status >= 200 && r.status < 300) {
          health = r.status;
          break;
        }
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    if (health) await until(() => readyAt > 0 || exit !== undefined, Math.max(0, startedAt + b.readyTimeout - Date.now()));
    const booted = `booted ${app.label}`;
    if (exit) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: it exited (${exit.signal ?? `code ${exit.code}`}) before answering ${hpath}: ${out() || 'no output'}`,
          'fix the error it prints; the canary would fail the same way',
        ),
      );
      return rows;
    }
    if (!health) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: ${hpath} did not answer 2xx within ${bootBy - startedAt} ms (${last})`,
          `make ${hpath} answer 2xx once the app can serve, or set healthcheck.path`,
        ),
      );
      return rows;
    }
    const readyText = readyAt ? `sent 'ready' after ${readyAt - startedAt} ms` : `never sent 'ready' within backend.readyTimeout (${b.readyTimeout} ms)`;
    if (!readyAt && waitReady) {
      rows.push(
        row(
          'app boot',
          'fail',
          `${booted}: ${hpath} answered ${health}, but the app ${readyText}; PM2 would wait readyTimeout per worker and then swap it in anyway, and the canary fails the deploy`,
          "call process.send?.('ready') once the server listens (reloadSafe() from zdd/runtime does it), or set backend.waitReady: false",
        ),
      );
    } else {
      rows.push(row('app boot', 'ok', `${booted}: ${readyText}, ${hpath} answered ${health}`));
    }
    rows.push(reloadSafetyRow(b.reloadSafe, proc.output()));

    // 2. An idle keep-alive connection, and a request in flight (headers not finished) at SIGINT.
    const idle = await rawConnect(port);
    conns.push(idle);
    idle.socket.write(`GET ${hpath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nUser-Agent: zdd-doctor\r\n\r\n`);
    await until(() => responseComplete(idle.data, idle.endedAt > 0) || idle.closedAt > 0, 5000);
    const idleUsable = responseComplete(idle.data) && !closesAfter(idle.data) && !idle.closedAt;
    const inflight = await rawConnect(port);
    conns.push(inflight);
    inflight.socket.write(`GET ${hpath} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: zdd-doctor\r\n`);
    await sleep(150);

    const t0 = Date.now();
    const kill = b.killTimeout;
    // SIGINT as PM2 sends it on a reload; SIGKILL where PM2 would (killTimeout), plus a little to measure.
    const stopped = proc.stop(kill + 500);
    await until(() => exit !== undefined, 300);
    inflight.socket.write('\r\n');
    await until(() => responseComplete(inflight.data, inflight.endedAt > 0) || inflight.closedAt > 0, kill + 1000);
    const answeredAt = responseComplete(inflight.data, inflight.endedAt > 0) ? Date.now() : 0;
    await stopped;
    await until(() => idle.closedAt > 0 && inflight.closedAt > 0, 200);
    const e = exit ?? { code: null, signal: null, at: Date.now() };
    const took = e.at - t0;
    const fixHandler =
      'handle SIGINT: stop accepting (server.close()), finish requests in flight, close keep-alive and WebSocket connections, then exit before backend.killTimeout — reloadSafe() from zdd/runtime does all of it (README: Make your app reload-safe)';

    // The request in flight.
    if (e.signal === 'SIGINT') {
      rows.push(
        row(
          'app SIGINT',
          'fail',
          `no SIGINT handler: the app died at once on SIGINT (${took} ms); PM2 sends SIGINT to the old worker on every reload, so requests in flight are cut`,
          fixHandler,
        ),
      );
    } else if (responseComplete(inflight.data, inflight.endedAt > 0)) {
      const st = statusOf(inflight.data);
      const close = closesAfter(inflight.data);
      rows.push(
        close
          ? row('app SIGINT', 'ok', `a request in flight at SIGINT was answered (${st}) with Connection: close`)
          : row(
              'app SIGINT',
              'warn',
              `a request in flight at SIGINT was answered (${st}) but without Connection: close; Nginx may send the next request on a connection that is closing`,
              'answer with Connection: close while draining (reloadSafe() does)',
            ),
      );
    } else {
      const how = inflight.error ? `reset (${inflight.error})` : inflight.closedAt ? 'closed' : 'left hanging';
      rows.push(
        row(
          'app SIGINT',
          'fail',
          `a request in flight at SIGINT got no answer: the connection was ${how}${inflight.data ? ` after ${JSON.stringify(inflight.data.slice(0, 60))}` : ''}`,
          fixHandler,
        ),
      );
    }

    // The idle keep-alive connection. (When the process dies, the kernel closes its sockets with FIN
    // too: a close within a few ms of the exit is the exit's, not the app's.)
    const byExit = (at: number) => at > 0 && e.at - at < 30;
    if (e.signal === 'SIGINT') {
      /* it died: nothing closed anything cleanly */
    } else if (!idleUsable) {
      rows.push(row('app keep-alive', 'warn', `not checked: the app closed the connection after its first answer (no keep-alive)`));
    } else if (idle.error) {
      rows.push(
        row(
          'app keep-alive',
          'warn',
          `the idle keep-alive connection was reset (${idle.error}), not closed with FIN`,
          'close a keep-alive connection only once it has been quiet, with socket.end(), never by destroying a socket that may hold a request (reloadSafe() does)',
        ),
      );
    } else if (idle.endedAt && idle.endedAt - t0 <= 500 && !byExit(idle.endedAt)) {
      rows.push(
        row(
          'app keep-alive',
          'ok',
          `the idle keep-alive connection was closed cleanly (FIN) ${Math.max(0, idle.endedAt - t0)} ms after SIGINT, once it had been quiet`,
        ),
      );
    } else if (idle.endedAt || idle.closedAt) {
      const at = (idle.endedAt || idle.closedAt) - t0;
      rows.push(
        row(
          'app keep-alive',
          'warn',
          `the idle keep-alive connection stayed open ${at} ms after SIGINT${byExit(idle.endedAt || idle.closedAt) ? ', until the process exited' : ''}`,
          'close an idle keep-alive connection on SIGINT once it has been quiet for a moment (reloadSafe() does; leave backend.reloadSafe on and zdd does it)',
        ),
      );
    } else {
      rows.push(row('app keep-alive', 'warn', 'the idle keep-alive connection was still open after the app stopped'));
    }

    // The exit.
    const sigkill = e.signal === 'SIGKILL' || took > kill;
    if (e.signal === 'SIGINT') {
      /* reported above */
    } else {
      // Why it took long: a keep-alive connection left open after its last answer keeps server.close() waiting.
      const openFor = answeredAt && !closesAfter(inflight.data) ? (inflight.closedAt || e.at) - answeredAt : 0;
      const heldOpen =
        openFor > 1000 && took > HANDOFF_WINDOW_MS + 500
          ? `the connection of the request in flight was kept alive after its answer and stayed open ${openFor} ms${byExit(inflight.closedAt) || !inflight.closedAt ? ', until the exit' : ''} (server.close() waits for it)`
          : undefined;
      if (sigkill) {
        rows.push(
          row(
            'app exit',
            'fail',
            `the app did not exit within backend.killTimeout (${kill} ms) after SIGINT: PM2 SIGKILLs it, cutting whatever is still open${heldOpen ? ` (${heldOpen})` : ''}`,
            fixHandler,
          ),
        );
        return rows;
      }
      const notes: string[] = [];
      const fixes: string[] = [];
      if (heldOpen) {
        notes.push(heldOpen);
        fixes.push('answer with Connection: close while draining');
      }
      if (!leftCluster && took < HANDOFF_WINDOW_MS - 100) {
        notes.push(
          `it did not leave the cluster first: for a moment after server.close() the PM2 primary may still hand this worker a connection, which is stranded if the worker is gone`,
        );
        fixes.push("leave with cluster.worker.disconnect() and exit on its 'disconnect' event (or stay alive about a second after server.close())");
      }
      if (took > kill * 0.8) {
        notes.push('close to backend.killTimeout');
        fixes.push('exit well before backend.killTimeout (or raise it)');
      }
      if (e.code !== 0) {
        notes.push(`exit code ${e.code}`);
        fixes.push('exit 0 after a clean drain');
      }
      rows.push(
        row(
          'app exit',
          notes.length ? 'warn' : 'ok',
          `exited ${e.code === 0 ? '0 ' : ''}${took} ms after SIGINT${leftCluster ? ', after leaving the cluster' : ''} (backend.killTimeout ${kill} ms)${notes.length ? `: ${notes.join('; ')}` : ''}`,
          fixes.length ? `${fixes.join('; ')} (reloadSafe() from zdd/runtime does it)` : undefined,
        ),
      );
    }
    return rows;
  } catch (err) {
    rows.push(row('app boot', 'fail', `could not check the app: ${(err as Error).message}; ${out()}`));
    return rows;
  } finally {
    for (const c of conns) c.socket.destroy();
    await proc.stop(1000);
    seen.output = proc.output();
  }
}
