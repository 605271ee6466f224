/**
 * Prints the configuration table (Markdown) generated from the `describe()` texts of src/config/config.ts.
 * `npx tsx scripts/config-table.ts` prints it; with `--write <file>` it replaces the text between
 * `<!-- config-table:start -->` and `<!-- config-table:end -->` in that file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { z } from 'zod';
import { configSchema } from '../src/config/config';

interface Def {
  type: string;
  defaultValue?: unknown;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  values?: unknown[];
  entries?: Record<string, string>;
}

function def(t: z.ZodType): Def {
  return (t as unknown as { _zod: { def: Def } })._zod.def;
}

/** Walks wrappers (default, optional, pipe) to find the default and a readable type name. */
function describeType(t: z.ZodType): { type: string; defaultValue?: unknown; optional: boolean } {
  let cur: z.ZodType | undefined = t;
  let defaultValue: unknown;
  let optional = false;
  for (let i = 0; cur && i < 10; i++) {
    const d = def(cur);
    if (d.type === 'default') {
      const v = d.defaultValue;
      defaultValue = typeof v === 'function' ? (v as () => unknown)() : v;
      cur = d.innerType;
    } else if (d.type === 'optional') {
      optional = true;
      cur = d.innerType;
    } else if (d.type === 'pipe') {
      cur = d.in;
    } else if (d.type === 'enum') {
      return { type: Object.values(d.entries ?? {}).join(' \\| '), defaultValue, optional };
    } else {
      return { type: d.type, defaultValue, optional };
    }
  }
  return { type: 'unknown', defaultValue, optional };
}

export function configTable(): string {
  const rows = ['| Variable | Type | Default | Description |', '|---|---|---|---|'];
  for (const [name, schema] of Object.entries(configSchema.shape)) {
    const t = schema as z.ZodType;
    const info = describeType(t);
    const dflt =
      info.defaultValue === undefined
        ? info.optional
          ? '(unset)'
          : ''
        : `\`${typeof info.defaultValue === 'string' ? info.defaultValue : JSON.stringify(info.defaultValue)}\``;
    const text = (t.description ?? '').replace(/\|/g, '\\|');
    rows.push(`| \`${name}\` | ${info.type} | ${dflt} | ${text} |`);
  }
  return rows.join('\n');
}

const table = configTable();
const i = process.argv.indexOf('--write');
if (i > 0 && process.argv[i + 1]) {
  const file = process.argv[i + 1]!;
  const text = readFileSync(file, 'utf8');
  const re = /(<!-- config-table:start -->)[\s\S]*?(<!-- config-table:end -->)/;
  if (!re.test(text)) throw new Error(`${file} has no config-table markers`);
  writeFileSync(file, text.replace(re, `$1\n${table}\n$2`));
} else {
  console.log(table);
}
