/** The backend's port, as its code or its start script says it. */

/** A port default in source text, and its line: `PORT || 4000`, `const PORT = 4000`, `.listen(4000`, `listen({ port: 3000 })`. */
export function portInSource(text: string): { port: number; line: number } | undefined {
  const patterns = [
    /\bPORT\b[^\n;]{0,60}?(?:\|\||\?\?)\s*['"]?(\d{2,5})\b/,
    /\b(?:const|let|var)\s+PORT\s*=\s*['"]?(\d{2,5})\b/i,
    /\bPORT\b[^\n]{0,80}?\.default\(\s*['"]?(\d{2,5})\b/,
    /\.listen\s*\(\s*(\d{2,5})\b/,
    /\.listen\s*\(\s*\{[^}]{0,80}?\bport\s*:\s*(\d{2,5})\b/,
    /\bserve\s*\(\s*\{[^}]{0,200}?\bport\s*:\s*(\d{2,5})\b/,
  ];
  for (const re of patterns) {
    const m = re.exec(text);
    if (!m) continue;
    const n = Number(m[1]);
    if (n >= 1 && n <= 65535) return { port: n, line: text.slice(0, m.index).split('\n').length };
  }
  return undefined;
}

/** A `PORT || 4000` / `PORT ?? '4000'` / `const PORT = 4000` default in source text. */
export function portFromSource(text: string): number | undefined {
  return portInSource(text)?.port;
}

/** `PORT=4000` in a .env file. */
export function portInEnvFile(text: string): number | undefined {
  const m = /^\s*(?:export\s+)?PORT\s*=\s*['"]?(\d{2,5})\b/m.exec(text);
  const n = m ? Number(m[1]) : undefined;
  return n !== undefined && n >= 1 && n <= 65535 ? n : undefined;
}
