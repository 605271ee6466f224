/**
 * Comments between the parties of a stay (*kommentarer*, contract "messages between the parties") and the
 * receivers' structured answers on their Tasks, checked inside the write's transaction:
 * - a Communication is sent by the writer's own organisation, about a stay the writer is a party of, to named
 *   organisations in the directory, with a category from the project's CodeSystem; after that the recipient may
 *   only acknowledge it (status `completed` and `received`), and the sender may only withdraw it (`entered-in-error`);
 * - a Task's `output` uses the svu-task-output codes, each with the value type its code asks for.
 * Delivery is the Subscriptions' (a Communication is matched like a Task; the tenant rules are re-checked). Before
 * it is written, a comment gets the directory's names of its sender and recipients (src/communication/comment-names.ts),
 * which are the gateway's: what a party may change of a sent comment is judged without them. The directory is read
 * once per write: the recipients are checked after the write on what was read to name them before it.
 */
import type { Communication, Reference, Task } from '@medplum/fhirtypes';
import { COMMUNICATION_CATEGORY_INFO, TASK_OUTPUT_INFO } from '../fhir/codes';
import { CODE_SYSTEM, PROFILE } from '../fhir/constants';
import type { Validator } from '../fhir/validator';
import { GatewayError } from '../platform/errors';
import { ORGANIZATION_REFERENCE } from '../fhir/references';
import { commentOrganisations, directoryEntries, withOrganisationNames, type DirectoryEntries } from './comment-names';
import { isUnrestricted } from '../store/access-sql';
import type { Db } from '../store/db.port';
import { loadStayParties } from '../followup/deviations/stay-parties.pg';
import { createRepository } from '../store/repository.pg';
import type { AccessScope, RepositoryHooks, ResourceChange } from '../store/repository.port';

/** A reference as what a party wrote: the organisations' names are the gateway's (src/communication/comment-names.ts). */
const unnamed = (r: Reference | undefined): Reference | undefined => {
  if (!r) return r;
  const { display: _name, ...rest } = r;
  return rest;
};

const without = (c: Communication, keys: (keyof Communication)[]): string => {
  const copy: Record<string, unknown> = { ...c, sender: unnamed(c.sender), recipient: c.recipient?.map(unnamed) };
  for (const k of ['meta', 'text', ...keys]) delete copy[k];
  return JSON.stringify(copy);
};

/**
 * A new comment goes to organisations in the directory: one sent to an unknown id would reach nobody, unseen.
 * The recipients' names by reference (422 naming any recipient that is not an organisation in the directory).
 * `read`: the directory's entries read before the write for the comment's organisations, when there are.
 */
async function checkRecipientsKnown(
  tx: Db,
  c: Communication,
  read: DirectoryEntries | undefined,
): Promise<Map<string, string>> {
  const refs = (c.recipient ?? []).map((r) => r.reference ?? '');
  if (refs.length === 0)
    throw new GatewayError('invalid-resource', 'A comment names its recipient (Communication.recipient)');
  const known = read ?? (await directoryEntries(tx, refs));
  const unknown = refs.filter((ref) => !known.has(ref));
  if (unknown.length > 0)
    throw new GatewayError(
      'invalid-resource',
      `Communication.recipient ${unknown.join(', ')} is not an organisation in the directory`,
    );
  return new Map(refs.map((ref) => [ref, known.get(ref) ?? ref]));
}

/**
 * A comment about a patient goes to parties of the stay only (its hospital, the organisations its Tasks are for or
 * from): anyone else would be told about the patient without a part in the stay.
 */
async function checkRecipientsParties(
  tx: Db,
  c: Communication,
  stay: string,
  recipientNames: Map<string, string>,
): Promise<void> {
  const parties = await loadStayParties(tx, stay);
  const outside = (c.recipient ?? []).map((r) => r.reference ?? '').filter((ref) => !parties?.parties.has(ref));
  if (outside.length === 0) return;
  const names = outside.map((ref) => recipientNames.get(ref) ?? ref);
  throw new GatewayError(
    'rule-violation',
    `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not a party of this stay: a comment goes to the stay's parties (Communication.recipient)`,
  );
}

async function checkCommunication(
  tx: Db,
  v: Validator,
  change: ResourceChange,
  scope: AccessScope | undefined,
  read: DirectoryEntries | undefined,
) {
  const after = change.after as Communication;
  const before = change.before as Communication | undefined;
  v.validate(after, PROFILE.communication);
  for (const c of after.category ?? [])
    for (const x of c.coding ?? [])
      if (x.system === CODE_SYSTEM.communicationCategory && !((x.code ?? '') in COMMUNICATION_CATEGORY_INFO))
        throw new GatewayError(
          'invalid-resource',
          `Communication.category '${x.code ?? ''}' is not one of ${Object.keys(COMMUNICATION_CATEGORY_INFO).join(', ')}`,
        );
  const isOrg = (r: Reference | undefined) => ORGANIZATION_REFERENCE.test(r?.reference ?? '');
  if (!(after.recipient ?? []).every(isOrg) || !isOrg(after.sender))
    throw new GatewayError('invalid-resource', 'Communication.sender and .recipient reference Organization/<id>');
  if (isUnrestricted(scope)) return;
  const org = scope?.organization ?? '';
  if (!before) {
    if (after.sender?.reference !== org)
      throw new GatewayError('forbidden', 'A comment is sent by your own organisation (Communication.sender)');
    const stay = /^Encounter\/(.+)$/.exec(after.encounter?.reference ?? '')?.[1] ?? '';
    try {
      await createRepository(tx, scope).read('Encounter', stay);
    } catch {
      throw new GatewayError('forbidden', 'A comment is about a stay your organisation is a party of');
    }
    if (after.status !== 'in-progress' && after.status !== 'completed')
      throw new GatewayError('rule-violation', 'A sent comment has status in-progress (the recipient completes it)');
    await checkRecipientsParties(tx, after, stay, await checkRecipientsKnown(tx, after, read));
    return;
  }
  const isRecipient = (before.recipient ?? []).some((r) => r.reference === org);
  if (isRecipient && without(before, ['status', 'received']) === without(after, ['status', 'received'])) {
    if (after.status === 'completed' || after.status === before.status) return;
  }
  if (before.sender?.reference === org && without(before, ['status']) === without(after, ['status'])) {
    if (after.status === 'entered-in-error') return;
  }
  throw new GatewayError(
    'forbidden',
    'A sent comment is not rewritten: the recipient acknowledges it (status completed, received), the sender may withdraw it (entered-in-error)',
  );
}

function checkOutputs(task: Task): void {
  (task.output ?? []).forEach((o, i) => {
    const coding = o.type.coding?.find((c) => c.system === CODE_SYSTEM.taskOutput);
    if (!coding) return; // the profile's invariant reports outputs without a project code
    const info = TASK_OUTPUT_INFO[coding.code as keyof typeof TASK_OUTPUT_INFO] as
      (typeof TASK_OUTPUT_INFO)[keyof typeof TASK_OUTPUT_INFO] | undefined;
    if (!info)
      throw new GatewayError(
        'invalid-resource',
        `Task.output[${i}].type '${coding.code ?? ''}' is not one of ${Object.keys(TASK_OUTPUT_INFO).join(', ')}`,
      );
    const has =
      info.value === 'boolean'
        ? o.valueBoolean !== undefined
        : info.value === 'string'
          ? typeof o.valueString === 'string'
          : typeof o.valueDateTime === 'string';
    if (!has)
      throw new GatewayError(
        'invalid-resource',
        `Task.output[${i}] '${coding.code ?? ''}' takes value${info.value[0]?.toUpperCase() ?? ''}${info.value.slice(1)}`,
      );
  });
}

export function communicationHooks(validator: Validator): RepositoryHooks {
  /**
   * What the directory said of a comment's organisations before its write, by the version written (the one
   * `afterWrite` sees as `change.after`): the names and the recipients' check come from one read.
   */
  const readBefore = new WeakMap<Communication, DirectoryEntries>();
  return {
    async beforeWrite(tx, change) {
      if (change.resourceType !== 'Communication' || !change.after) return undefined;
      const c = change.after as Communication;
      const read = await directoryEntries(tx, commentOrganisations(c));
      const named = withOrganisationNames(c, read);
      readBefore.set(named ?? c, read);
      return named;
    },
    async afterWrite(tx, change, scope) {
      if (!change.after) return;
      if (change.resourceType === 'Communication') {
        const read = readBefore.get(change.after as Communication);
        await checkCommunication(tx, validator, change, scope, read);
      } else if (change.resourceType === 'Task') checkOutputs(change.after as Task);
    },
  };
}
