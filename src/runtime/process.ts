/**
 * The process side of a reload (part of zdd/runtime; no dependencies): leaving a PM2 cluster,
 * flushing output before exit, and the runtime's millisecond settings.
 */
/** The part of Node's `cluster.worker` this helper uses. */
interface ClusterWorkerLike {
  isConnected(): boolean;
  disconnect(): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
}

/**
 * This process's `cluster.worker` (PM2 cluster mode runs apps as Node cluster workers); undefined in
 * fork mode, outside PM2, or where `process.getBuiltinModule` is missing (`null` then: cannot tell).
 */
export function clusterWorker(): ClusterWorkerLike | undefined | null {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin !== 'function') return typeof process.send === 'function' ? null : undefined;
  const cluster = getBuiltin('node:cluster') as { isWorker?: boolean; worker?: ClusterWorkerLike } | undefined;
  return cluster?.isWorker ? cluster.worker : undefined;
}

/**
 * Leave the cluster: Node's worker-side `disconnect()` sends the primary a message and waits for its
 * answer. The primary handles its messages in order, so that answer comes after it handled the close
 * `server.close()` sent; and any connection it handed over before then reached this worker first and
 * was passed back. Resolves on the answer, at once outside a cluster, or after `boundMs`.
 */
export function leaveCluster(worker: ClusterWorkerLike | undefined | null, boundMs: number): Promise<'left' | 'timeout' | 'none'> {
  if (!worker?.isConnected()) return Promise.resolve('none');
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), boundMs);
    worker.once('disconnect', () => {
      clearTimeout(t);
      resolve('left');
    });
    try {
      worker.disconnect();
    } catch {
      clearTimeout(t);
      resolve('none');
    }
  });
}

/**
 * Resolves once what was written to stdout and stderr went out, or after `boundMs`. PM2's cluster
 * mode writes an app's logs to their files from inside the app, asynchronously: an exit right after
 * the last lines cuts them off.
 */
export function flushOutput(boundMs: number): Promise<void> {
  return new Promise((resolve) => {
    let left = 2;
    const t = setTimeout(resolve, boundMs);
    const one = () => {
      if (--left === 0) {
        clearTimeout(t);
        resolve();
      }
    };
    for (const stream of [process.stdout, process.stderr]) {
      try {
        stream.write('', one);
      } catch {
        one();
      }
    }
  });
}

/** ms, from an option, an environment variable or a default; rejects nonsense. */
export function msValue(value: unknown, fallback: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** The quiet period of a drain: option, else env ZDD_QUIET_PERIOD, else 250 ms. */
export const quietPeriodOf = (option?: number): number => msValue(option ?? process.env.ZDD_QUIET_PERIOD, 250);
