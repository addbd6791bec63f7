/**
 * The Reporter in each output mode, written into a collecting stream, and the mode selection of
 * commands/common.ts (--json, --ci, CI, TTY).
 */
import ciInfo from 'ci-info';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCI, outputMode } from '../../src/commands/common.js';
import { Reporter, formatMs, type OutputMode } from '../../src/output/reporter.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /;
const ANSI = /\u001b\[/;

/** A stream that keeps what is written; `isTTY` pretends to be a terminal. */
function collector(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (isTTY) stream.isTTY = true;
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return {
    stream,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

function reporter(mode: OutputMode, opts: { isTTY?: boolean; color?: boolean; verbose?: boolean } = {}) {
  const sink = collector(opts.isTTY);
  const out = new Reporter({ mode, stream: sink.stream, color: opts.color, verbose: opts.verbose, now: () => new Date('2026-11-27T10:30:00.000Z') });
  return { out, ...sink };
}

/** Every kind of event once. */
function emitAll(out: Reporter) {
  out.stepStart('build-frontend', 'npm run build');
  out.info('an info line');
  out.stepDone('build-frontend', 1234, 'built');
  out.stepSkipped('shared', 'nothing shared');
  out.stepStart('canary');
  out.stepFailed('canary', 50, 'health check answered 503');
  out.warn('a warning');
  out.block('first line\nsecond line\n');
  out.error('it broke', 'do this');
  out.hint('another hint');
  out.summary(false, 'deploy failed');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Reporter in ci mode', () => {
  it('writes one plain line per event, each with an ISO timestamp and no ANSI escapes, even on a TTY', () => {
    vi.stubEnv('FORCE_COLOR', undefined);
    const { out, lines } = reporter('ci', { isTTY: true });
    emitAll(out);
    const all = lines();
    // 11 calls, the block has 2 lines and the error a hint: 13 lines.
    expect(all).toHaveLength(13);
    for (const l of all) {
      expect(l).toMatch(ISO);
      expect(l).not.toMatch(ANSI);
    }
    expect(all[0]).toBe('2026-11-27T10:30:00.000Z start build-frontend — npm run build');
    expect(all).toContain('2026-11-27T10:30:00.000Z done  build-frontend (1.2 s) — built');
    expect(all).toContain('2026-11-27T10:30:00.000Z skip  shared — nothing shared');
    expect(all).toContain('2026-11-27T10:30:00.000Z fail  canary (50 ms) — health check answered 503');
    expect(all).toContain('2026-11-27T10:30:00.000Z out   | second line');
    expect(all).toContain('2026-11-27T10:30:00.000Z error it broke');
    expect(all).toContain('2026-11-27T10:30:00.000Z hint  do this');
    expect(all[all.length - 1]).toBe('2026-11-27T10:30:00.000Z fail  deploy failed');
  });

  it('has no colours by default', () => {
    vi.stubEnv('FORCE_COLOR', undefined);
    const { out } = reporter('ci', { isTTY: true });
    expect(out.colors.red('x')).toBe('x');
  });

  it('turns colour on when FORCE_COLOR is set', () => {
    vi.stubEnv('FORCE_COLOR', '1');
    const { out } = reporter('ci');
    expect(out.colors.red('x')).toMatch(ANSI);
  });

  it('keeps colour off with FORCE_COLOR=0', () => {
    vi.stubEnv('FORCE_COLOR', '0');
    const { out } = reporter('ci');
    expect(out.colors.red('x')).toBe('x');
  });

  it('prints debug lines only with verbose', () => {
    const quiet = reporter('ci');
    quiet.out.debug('details');
    expect(quiet.text()).toBe('');
    const loud = reporter('ci', { verbose: true });
    loud.out.debug('details');
    expect(loud.lines()).toEqual(['2026-11-27T10:30:00.000Z debug details']);
  });
});

describe('Reporter in tty mode', () => {
  it('uses colour and no timestamps', () => {
    vi.stubEnv('FORCE_COLOR', undefined);
    const { out, text, lines } = reporter('tty');
    out.warn('careful');
    out.error('it broke', 'do this');
    out.summary(true, 'deployed');
    expect(text()).toMatch(ANSI);
    expect(lines().some((l) => ISO.test(l))).toBe(false);
    expect(text()).toContain('careful');
    expect(text()).toContain('it broke');
    expect(text()).toContain('deployed');
  });

  it('prints a step with its duration when done', () => {
    const { out, text } = reporter('tty');
    out.stepStart('build-frontend', 'npm run build');
    out.stepDone('build-frontend', 2500);
    expect(text()).toContain('build-frontend');
    expect(text()).toContain('2.5 s');
  });

  it('can be told to use no colour', () => {
    const { out, text } = reporter('tty', { color: false });
    out.warn('careful');
    out.error('it broke');
    expect(text()).not.toMatch(ANSI);
  });
});

describe('Reporter in json mode', () => {
  it('writes its log lines to the given stream, plain and timestamped', () => {
    vi.stubEnv('FORCE_COLOR', undefined);
    const { out, lines } = reporter('json');
    out.info('hello');
    out.stepDone('lock', 3);
    expect(lines()).toEqual(['2026-11-27T10:30:00.000Z info  hello', '2026-11-27T10:30:00.000Z done  lock (3 ms)']);
  });

  it('defaults to stderr so that stdout carries only the JSON document', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new Reporter({ mode: 'json' }).info('to stderr');
      expect(write).toHaveBeenCalledWith(expect.stringContaining('to stderr'));
      expect(stdout).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
      stdout.mockRestore();
    }
  });
});

describe('scrub: backend.env values never appear', () => {
  const SECRET = 'hunter2-token';

  for (const mode of ['ci', 'tty', 'json'] as const) {
    it(`masks secrets in every kind of line (${mode})`, () => {
      const { out, text } = reporter(mode);
      out.addSecrets([SECRET, 'pw99']);
      out.info(`token is ${SECRET}`);
      out.warn(`warn ${SECRET}`);
      out.block(`line with ${SECRET}\nand pw99`);
      out.error(`error ${SECRET}`, `hint ${SECRET}`);
      out.hint(`hint ${SECRET}`);
      out.stepStart('hooks', `run ${SECRET}`);
      out.stepFailed('hooks', 10, `failed with ${SECRET}`);
      out.stepStart('x');
      out.stepDone('x', 10, `note ${SECRET}`);
      out.stepSkipped('y', `skip ${SECRET}`);
      out.summary(false, `summary ${SECRET}`);
      out.print(`print ${SECRET}`);
      const all = text();
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain('pw99');
      expect(all).toContain('***');
      expect(all).toContain('token is ***');
    });
  }

  it('masks stepFailed without a spinner too (tty)', () => {
    const { out, text } = reporter('tty');
    out.addSecrets([SECRET]);
    out.stepFailed('canary', 10, `bad ${SECRET}`);
    expect(text()).not.toContain(SECRET);
    expect(text()).toContain('bad ***');
  });

  it('ignores values shorter than 4 characters (masking "1" would mask every digit)', () => {
    const { out, text } = reporter('ci');
    out.addSecrets(['1', 'abc', 'abcd']);
    out.info('port 3001 abc abcd');
    expect(text()).toContain('port 3001 abc ***\n');
  });

  it('masks the longest value first when one secret contains another', () => {
    const { out } = reporter('ci');
    out.addSecrets(['pass', 'password123']);
    expect(out.scrub('x password123 y pass')).toBe('x *** y ***');
  });

  it('scrub() is usable on any text (the JSON document)', () => {
    const { out } = reporter('json');
    out.addSecrets([SECRET]);
    expect(out.scrub(JSON.stringify({ error: { message: `saw ${SECRET}` } }))).toBe('{"error":{"message":"saw ***"}}');
  });
});

describe('formatMs', () => {
  it('formats milliseconds, seconds and minutes', () => {
    expect(formatMs(12.4)).toBe('12 ms');
    expect(formatMs(1500)).toBe('1.5 s');
    expect(formatMs(125_000)).toBe('2 min 5 s');
  });
});

describe('isCI and outputMode', () => {
  it('--json wins over everything', () => {
    expect(outputMode({ json: true, ci: true }, { CI: '1' }, true)).toBe('json');
    expect(outputMode({ json: true }, { CI: 'false' }, true)).toBe('json');
    expect(outputMode({ json: true }, {}, false)).toBe('json');
  });

  it('--ci gives ci even on a TTY and with CI=false', () => {
    expect(isCI({ ci: true }, { CI: 'false' })).toBe(true);
    expect(outputMode({ ci: true }, { CI: 'false' }, true)).toBe('ci');
  });

  it('CI=true / CI=1 (or any other value) gives ci on a TTY', () => {
    for (const v of ['true', '1', 'TRUE', 'github']) {
      expect(isCI({}, { CI: v })).toBe(true);
      expect(outputMode({}, { CI: v }, true)).toBe('ci');
    }
  });

  it('CI=false / CI=0 / empty gives tty on a TTY', () => {
    for (const v of ['false', 'False', '0', '']) {
      expect(isCI({}, { CI: v })).toBe(false);
      expect(outputMode({}, { CI: v }, true)).toBe('tty');
    }
  });

  it('without CI set, falls back to ci-info', () => {
    expect(isCI({}, {})).toBe(ciInfo.isCI);
  });

  it('a non-TTY stdout gives ci even with CI=false', () => {
    expect(outputMode({}, { CI: 'false' }, false)).toBe('ci');
  });
});
