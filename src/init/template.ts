/**
 * A tiny template renderer: `{{key}}` is replaced by `values[key]`; lines between `{{#flag}}` and
 * `{{/flag}}` are kept only when `flags[flag]` is true, between `{{^flag}}` and `{{/flag}}` only when
 * false; lines between `{{*list}}` and `{{/list}}` are repeated once per item of `lists[list]`, with
 * the item's values (the marker lines themselves are dropped). An unknown key is an error, never left
 * in the output.
 */
export function renderTemplate(
  template: string,
  values: Record<string, string>,
  flags: Record<string, boolean> = {},
  lists: Record<string, Record<string, string>[]> = {},
): string {
  const out: string[] = [];
  const stack: { name: string; keep: boolean }[] = [];
  const lines = template.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const repeat = /\{\{\*(\w+)\}\}/.exec(line);
    if (repeat) {
      const name = repeat[1]!;
      const end = lines.findIndex((l, j) => j > i && l.includes(`{{/${name}}}`));
      if (end < 0) throw new Error(`template: section ${name} not closed`);
      if (!(name in lists)) throw new Error(`template: unknown list ${name}`);
      const block = lines.slice(i + 1, end).join('\n');
      if (!stack.some((s) => !s.keep)) for (const item of lists[name]!) out.push(renderTemplate(block, { ...values, ...item }, flags, lists));
      i = end;
      continue;
    }
    const open = /\{\{([#^])(\w+)\}\}/.exec(line);
    const close = /\{\{\/(\w+)\}\}/.exec(line);
    if (open) {
      const [, kind, name] = open as unknown as [string, string, string];
      if (!(name in flags)) throw new Error(`template: unknown section ${name}`);
      stack.push({ name, keep: kind === '#' ? flags[name]! : !flags[name] });
      continue;
    }
    if (close) {
      const top = stack.pop();
      if (!top || top.name !== close[1]) throw new Error(`template: unbalanced section ${close[1]}`);
      continue;
    }
    if (stack.some((s) => !s.keep)) continue;
    out.push(
      line.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
        const v = values[key];
        if (v === undefined) throw new Error(`template: no value for {{${key}}}`);
        return v;
      }),
    );
  }
  if (stack.length) throw new Error(`template: section ${stack[stack.length - 1]!.name} not closed`);
  return out.join('\n');
}
