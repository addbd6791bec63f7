/**
 * A small reader of Nginx's config syntax: directives, their arguments and blocks, with the file and
 * line each one is written on. Enough for zdd to find a site's roots, proxies and listen addresses
 * (src/nginx/site.ts); it does not validate — `nginx -t` does that.
 *
 * The text is either what `nginx -T` prints (each file under `# configuration file <path>:`, with
 * `include` lines left as written, expanded here against those headers), or zdd's own join of the
 * `nginx.config` files (each under `# <file>`, told apart from comments by `opts.files`), or one
 * file's text.
 */
import path from 'node:path';

export interface Where {
  /** The file it is written in; undefined for a text without file headers. */
  file?: string;
  /** 1-based line in that file. */
  line: number;
}

export interface Directive {
  name: string;
  args: string[];
  /** The directives inside its `{ }`, when it has one. */
  block?: Directive[];
  where: Where;
}

interface Token {
  text: string;
  /** `{`, `}` and `;` outside quotes. */
  punct: boolean;
  line: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      out.push({ text: c, punct: true, line });
      i++;
    } else {
      const start = line;
      let word = '';
      while (i < src.length) {
        const ch = src[i]!;
        if (ch === '"' || ch === "'") {
          // Quoted: up to the matching quote, backslash escapes kept; the quotes stay (site.ts strips them).
          let j = i + 1;
          while (j < src.length && src[j] !== ch) {
            if (src[j] === '\\') j++;
            if (src[j] === '\n') line++;
            j++;
          }
          word += src.slice(i, j + 1);
          i = j + 1;
        } else if (ch === '$' && src[i + 1] === '{') {
          const j = src.indexOf('}', i);
          word += src.slice(i, j < 0 ? src.length : j + 1);
          i = j < 0 ? src.length : j + 1;
        } else if (/[\s{};]/.test(ch)) break;
        else {
          if (ch === '\\') {
            word += ch;
            i++;
          }
          word += src[i] ?? '';
          i++;
        }
      }
      out.push({ text: word, punct: false, line: start });
    }
  }
  return out;
}

function parseTokens(tokens: Token[], file: string | undefined): Directive[] {
  let i = 0;
  const block = (): Directive[] => {
    const dirs: Directive[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.punct && t.text === '}') {
        i++;
        return dirs;
      }
      if (t.punct) {
        i++;
        continue;
      }
      const d: Directive = { name: t.text, args: [], where: { file, line: t.line } };
      i++;
      while (i < tokens.length && !tokens[i]!.punct) d.args.push(tokens[i++]!.text);
      const end = tokens[i];
      i++;
      if (end?.text === '{') d.block = block();
      dirs.push(d);
    }
    return dirs;
  };
  return block();
}

export interface NginxFile {
  /** Undefined for a text without headers. */
  file?: string;
  text: string;
  /** Line of the file's first line in the whole text, minus one. */
  offset: number;
}

/** The files of the text, split at the headers (one unnamed file when there are none). */
export function splitFiles(text: string, opts: { files?: string[] } = {}): NginxFile[] {
  const lines = text.split('\n');
  const named = new Set(opts.files ?? []);
  const files: NginxFile[] = [];
  let current: { file?: string; start: number } = { start: 0 };
  const close = (end: number) => {
    if (current.file !== undefined || end > current.start)
      files.push({ file: current.file, text: lines.slice(current.start, end).join('\n'), offset: current.start });
  };
  lines.forEach((l, n) => {
    const dump = /^# configuration file (.+):$/.exec(l);
    const own = !dump && l.startsWith('# ') && named.has(l.slice(2)) ? l.slice(2) : undefined;
    const file = dump?.[1] ?? own;
    if (file === undefined) return;
    close(n);
    current = { file, start: n + 1 };
  });
  close(lines.length);
  return files.filter((f) => f.file !== undefined || f.text.trim());
}

/** A glob as `include` takes it (`*`, `?`, `[...]`) as a RegExp on the whole path. */
function globRe(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' || c === ']') re += c;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The directives Nginx would load from the text, includes expanded in place. The main file is the
 * first one; relative include paths are taken from its folder, as nginx does with `-c`.
 */
export function parseNginx(text: string, opts: { files?: string[] } = {}): Directive[] {
  const files = splitFiles(text, opts);
  const parsed = new Map<NginxFile, Directive[]>();
  const of = (f: NginxFile) => {
    let d = parsed.get(f);
    if (!d) {
      d = parseTokens(tokenize(f.text), f.file);
      parsed.set(f, d);
    }
    return d;
  };
  const main = files[0];
  if (!main) return [];
  const base = main.file ? path.posix.dirname(main.file) : '/';
  const used = new Set<NginxFile>([main]);
  const expand = (dirs: Directive[], depth: number): Directive[] =>
    dirs.flatMap((d): Directive[] => {
      if (d.name === 'include' && !d.block && depth < 16) {
        const pattern = path.posix.resolve(base, (d.args[0] ?? '').replace(/^(["'])(.*)\1$/, '$2'));
        const re = globRe(pattern);
        const hits = files.filter((f) => f.file !== undefined && re.test(f.file)).sort((a, b) => (a.file! < b.file! ? -1 : 1));
        for (const h of hits) used.add(h);
        return hits.flatMap((h) => expand(of(h), depth + 1));
      }
      return d.block ? [{ ...d, block: expand(d.block, depth) }] : [d];
    });
  const top = expand(of(main), 0);
  // Files no include reached (zdd's own join of nginx.config, or a text of several site files) are
  // each read as more of the same context, so a site file alone still counts.
  const rest = files.filter((f) => !used.has(f) && !(f.file && /(^|\/)(mime\.types|fastcgi_params|scgi_params|uwsgi_params|koi-\w+|win-utf)$/.test(f.file)));
  return [...top, ...rest.flatMap((f) => expand(of(f), 0))];
}
