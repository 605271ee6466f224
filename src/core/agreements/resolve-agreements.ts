import type { z } from 'zod';
import { agreementSchema, type Agreement } from './agreement.schema';

/** One agreement file as read from disk (or built in a test). */
export interface AgreementFile {
  /** File name or path, used in error messages. */
  file: string;
  json: unknown;
}

export interface AgreementProblem {
  file: string;
  /** Path inside the file, e.g. `tasks.kallelse-sip.deadline.after`; empty for the whole file. */
  path: string;
  message: string;
}

export type ResolveResult =
  { ok: true; agreements: Map<string, Agreement> } | { ok: false; problems: AgreementProblem[] };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep merge for `extends`: objects merge key by key, the child wins; arrays and scalars are replaced.
 * `payment` is replaced as a whole when the child has it (payment models do not mix), and `extends`
 * is the child's own.
 */
export function mergeAgreementJson(base: Json, child: Json, top = true): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(child)) {
    const b = base[k];
    if (top && (k === 'payment' || k === 'extends' || k === 'id')) out[k] = v;
    else if (isObject(v) && isObject(b)) out[k] = mergeAgreementJson(b, v, false);
    else out[k] = v;
  }
  return out;
}

function issuesToProblems(file: string, issues: z.core.$ZodIssue[]): AgreementProblem[] {
  return issues.map((i) => ({ file, path: i.path.map(String).join('.'), message: i.message }));
}

/**
 * Resolve `extends` chains and validate every agreement. Later files with the same id override earlier ones
 * (so an extra folder can replace a shipped agreement). An optional `validatePayment` checks the `payment`
 * block (the liability capability's schema) and returns problems as `{path, message}`.
 */
export type PaymentParser = (
  payment: unknown,
) => { ok: true; value: unknown } | { ok: false; problems: { path: string; message: string }[] };

export function resolveAgreements(files: AgreementFile[], parsePayment?: PaymentParser): ResolveResult {
  const problems: AgreementProblem[] = [];
  const raw = new Map<string, { file: string; json: Json }>();
  for (const f of files) {
    if (!isObject(f.json)) {
      problems.push({ file: f.file, path: '', message: 'an agreement file must hold one JSON object' });
      continue;
    }
    const id = f.json.id;
    if (typeof id !== 'string' || id === '') {
      problems.push({ file: f.file, path: 'id', message: 'missing agreement id' });
      continue;
    }
    raw.set(id, { file: f.file, json: f.json });
  }

  const merged = new Map<string, Json>();
  const resolve = (id: string, seen: string[]): Json | undefined => {
    const done = merged.get(id);
    if (done) return done;
    const entry = raw.get(id);
    if (!entry) return undefined;
    const parentId = entry.json.extends;
    let json = entry.json;
    if (parentId !== undefined) {
      if (typeof parentId !== 'string') {
        problems.push({ file: entry.file, path: 'extends', message: 'extends must be an agreement id' });
        return undefined;
      }
      if (seen.includes(parentId)) {
        problems.push({
          file: entry.file,
          path: 'extends',
          message: `extends cycle: ${[...seen, parentId].join(' → ')}`,
        });
        return undefined;
      }
      const parent = resolve(parentId, [...seen, parentId]);
      if (!parent) {
        if (!raw.has(parentId))
          problems.push({ file: entry.file, path: 'extends', message: `extends unknown agreement "${parentId}"` });
        return undefined;
      }
      json = mergeAgreementJson(parent, entry.json);
    }
    merged.set(id, json);
    return json;
  };

  const agreements = new Map<string, Agreement>();
  for (const [id, entry] of raw) {
    const json = resolve(id, [id]);
    if (!json) continue;
    const parsed = agreementSchema.safeParse(json);
    if (!parsed.success) {
      problems.push(...issuesToProblems(entry.file, parsed.error.issues));
      continue;
    }
    if (parsePayment) {
      const pay = parsePayment(parsed.data.payment);
      if (!pay.ok) {
        for (const p of pay.problems)
          problems.push({ file: entry.file, path: p.path ? `payment.${p.path}` : 'payment', message: p.message });
        continue;
      }
      parsed.data.payment = pay.value;
    }
    agreements.set(id, parsed.data);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, agreements };
}

/** Format problems as one line each: `file: path: message`. */
export function formatAgreementProblems(problems: AgreementProblem[]): string {
  return problems.map((p) => `${p.file}: ${p.path || '(file)'}: ${p.message}`).join('\n');
}
