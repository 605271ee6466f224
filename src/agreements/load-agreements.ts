import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Agreement } from '../core/agreements/agreement.schema';
import {
  formatAgreementProblems,
  resolveAgreements,
  type AgreementFile,
  type PaymentParser,
} from '../core/agreements/resolve-agreements';
import { paymentModelSchema } from '../core/liability/payment-model';
import { GatewayError } from '../platform/errors';
import { projectDir } from '../platform/project-dir';

/** `agreements/` at the repository root, resolved from this module's location (not the working directory). */
export const SHIPPED_AGREEMENTS_DIR = projectDir('agreements', import.meta.url);

async function readDir(dir: string): Promise<AgreementFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    throw new GatewayError('agreement-missing', `cannot read agreements folder ${dir}: ${(e as Error).message}`);
  }
  const files: AgreementFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    try {
      files.push({ file, json: JSON.parse(text) as unknown });
    } catch (e) {
      throw new GatewayError('agreement-missing', `${file}: (file): not valid JSON: ${(e as Error).message}`, [
        { path: file, message: 'not valid JSON' },
      ]);
    }
  }
  return files;
}

/** The `payment` block is validated with the liability capability's schema (src/core/liability). */
const parsePayment: PaymentParser = (payment) => {
  const r = paymentModelSchema.safeParse(payment);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, problems: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
};

/**
 * Load the shipped agreements plus those in `extraDir` (AGREEMENTS_DIR). A file in `extraDir` may `extends`
 * a shipped one and may replace one with the same id. Any bad file fails the whole load with a message
 * naming the file and the path inside it.
 */
export async function loadAgreements(opts: { extraDir?: string; dir?: string } = {}): Promise<Map<string, Agreement>> {
  const files = await readDir(opts.dir ?? SHIPPED_AGREEMENTS_DIR);
  if (opts.extraDir) files.push(...(await readDir(resolve(opts.extraDir))));
  const result = resolveAgreements(files, parsePayment);
  if (!result.ok) {
    throw new GatewayError(
      'agreement-missing',
      `invalid agreement files:\n${formatAgreementProblems(result.problems)}`,
      result.problems.map((p) => ({ path: `${p.file}#${p.path}`, message: p.message })),
    );
  }
  return result.agreements;
}

export function getAgreement(map: Map<string, Agreement>, id: string): Agreement {
  const a = map.get(id);
  if (!a) {
    throw new GatewayError(
      'agreement-missing',
      `no agreement "${id}" (known: ${[...map.keys()].sort().join(', ')}); set AGREEMENT or add a file to AGREEMENTS_DIR`,
    );
  }
  return a;
}
