/**
 * Reading a SIP CarePlan as the parties see it: who the parties are (the author, the named care contact, and the
 * invited contributors), which activity is whose part (the first performer names the party; a second, display-only
 * performer is its contact), and whether a signature still holds. A signature (Provenance) keeps a digest of the part
 * it signed; when the part changes, the digest no longer matches and the signature is withdrawn (contract, "The
 * coordinated individual plan"). The hospital's approval keeps a digest of the whole plan's parts and meeting.
 */
import { createHash } from 'node:crypto';
import type { CarePlan, CarePlanActivity, Provenance, Reference } from '@medplum/fhirtypes';
import { CODE_SYSTEM, type SipSignatureKind } from '../fhir/constants';
import { ORGANIZATION_REFERENCE } from '../fhir/references';

/** `Organization/<id>` of a reference in that form, else undefined. */
export function orgRef(ref: Reference | undefined): string | undefined {
  const r = ref?.reference;
  return r && ORGANIZATION_REFERENCE.test(r) ? r : undefined;
}

/** The party whose part an activity is (its first performer). */
export function partyOfActivity(a: CarePlanActivity): string | undefined {
  return orgRef(a.detail?.performer?.[0]);
}

/** Every party of the plan: the author first, then the invited contributors (each once). */
export function planParties(plan: CarePlan): string[] {
  const out: string[] = [];
  for (const r of [plan.author, ...(plan.contributor ?? [])]) {
    const o = orgRef(r);
    if (o && !out.includes(o)) out.push(o);
  }
  return out;
}

/** The invited parties (contributors other than the author). */
export function invitedParties(plan: CarePlan): string[] {
  const author = orgRef(plan.author);
  return planParties(plan).filter((p) => p !== author);
}

/** The activities that are `org`'s part. */
export function partOf(plan: CarePlan, org: string): CarePlanActivity[] {
  return (plan.activity ?? []).filter((a) => partyOfActivity(a) === org);
}

/** The texts of `org`'s part (its activities' descriptions), as quoted when the party leaves the plan. */
export function partTexts(plan: CarePlan, org: string): string[] {
  return partOf(plan, org)
    .map((a) => a.detail?.description ?? '')
    .filter((d) => d.trim() !== '');
}

/** JSON with object keys sorted, so equal content gives equal text whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');

/** Digest of one party's part. */
export function partDigest(plan: CarePlan, org: string): string {
  return sha256(canonical(partOf(plan, org)));
}

/** Digest of what the hospital approves: every part, the parties and the meeting. */
export function planDigest(plan: CarePlan): string {
  return sha256(canonical({ activity: plan.activity ?? [], parties: planParties(plan), extension: plan.extension }));
}

/** The kind of a SIP Provenance, if it is one. */
export function signatureKind(p: Provenance): SipSignatureKind | undefined {
  const code = p.activity?.coding?.find((c) => c.system === CODE_SYSTEM.sipSignature)?.code;
  return code === 'signering' || code === 'godkannande' ? code : undefined;
}

export interface SignatureState {
  /** Parties whose latest signature matches their current part, with when they signed. */
  signed: Map<string, string>;
  /** Parties that signed once but changed their part since (signature withdrawn). */
  withdrawn: string[];
  /** When the hospital's approval of the current content was given, if it holds. */
  approvedAt?: string;
  approvedBy?: string;
  /** Parties that still have to sign. */
  missing: string[];
}

/** Which signatures and which approval hold for the plan's current content. */
export function signatureState(plan: CarePlan, provenances: readonly Provenance[]): SignatureState {
  const latest = new Map<string, Provenance>();
  let approval: Provenance | undefined;
  const sorted = [...provenances].sort((a, b) => (a.recorded ?? '').localeCompare(b.recorded ?? ''));
  for (const p of sorted) {
    const kind = signatureKind(p);
    const who = orgRef(p.agent?.[0]?.who);
    if (kind === 'signering' && who) latest.set(who, p);
    if (kind === 'godkannande') approval = p;
  }
  const state: SignatureState = { signed: new Map(), withdrawn: [], missing: [] };
  for (const party of planParties(plan)) {
    const p = latest.get(party);
    if (p && p.signature?.[0]?.data === partDigest(plan, party)) state.signed.set(party, p.recorded ?? '');
    else {
      if (p) state.withdrawn.push(party);
      state.missing.push(party);
    }
  }
  if (approval && approval.signature?.[0]?.data === planDigest(plan)) {
    state.approvedAt = approval.recorded ?? '';
    const by = orgRef(approval.agent?.[0]?.who);
    if (by) state.approvedBy = by;
  }
  return state;
}

/** `active` when every party has signed and the hospital approved, else `draft` (closed plans keep theirs). */
export function derivedStatus(plan: CarePlan, state: SignatureState): CarePlan['status'] {
  if (plan.status !== 'draft' && plan.status !== 'active') return plan.status;
  return state.missing.length === 0 && state.approvedAt !== undefined ? 'active' : 'draft';
}

/** What differs between two versions outside `org`'s own part (empty = only its part changed). */
export function changesOutsidePart(before: CarePlan, after: CarePlan, org: string): string[] {
  const strip = (p: CarePlan) => {
    const { meta: _m, text: _t, activity, ...rest } = p;
    return canonical({ ...rest, activity: (activity ?? []).filter((a) => partyOfActivity(a) !== org) });
  };
  if (strip(before) === strip(after)) return [];
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'meta' || key === 'text') continue;
    const b = (before as unknown as Record<string, unknown>)[key];
    const a = (after as unknown as Record<string, unknown>)[key];
    if (key === 'activity') {
      const other = (p: CarePlan) => (p.activity ?? []).filter((x) => partyOfActivity(x) !== org);
      if (canonical(other(before)) !== canonical(other(after))) out.push('activity (another party\u2019s part)');
    } else if (canonical(b) !== canonical(a)) out.push(key);
  }
  return out;
}
