/**
 * What the gateway checks beyond medplum's structural validation: required status codes (R4 required
 * bindings medplum does not enforce), the project's own codes in Task.code / Task.businessStatus and the
 * check digits and date part of Swedish person identifiers. Pure: `today` is passed in.
 */
import type { Resource } from '@medplum/fhirtypes';
import { checkPersonnummer, identifierSystemKind } from '../core/identity/personnummer';
import type { ErrorIssue } from '../platform/errors';
import { CODE_SYSTEM, TASK_BUSINESS_STATUSES } from './constants';
import { R4_CAREPLAN_INTENT, R4_STATUS, R4_SUBSCRIPTION_CHANNEL, R4_TASK_INTENT, SVU_TASK_CODE_INFO } from './codes';

export interface RuleIssue extends ErrorIssue {
  path: string;
  /** `personnummer` for identifier check-digit/date failures, `code` for bad codes. */
  kind: 'personnummer' | 'code';
}

interface CodingLike {
  system?: string;
  code?: string;
}

function codeIn(
  issues: RuleIssue[],
  path: string,
  value: string | undefined,
  allowed: readonly string[],
  what: string,
): void {
  if (value === undefined) return;
  if (!allowed.includes(value)) {
    issues.push({ path, kind: 'code', message: `${what} "${value}" is not one of: ${allowed.join(', ')}` });
  }
}

function checkCodings(
  issues: RuleIssue[],
  path: string,
  codings: CodingLike[] | undefined,
  system: string,
  allowed: readonly string[],
): void {
  (codings ?? []).forEach((c, i) => {
    if (c.system === system && (c.code === undefined || !allowed.includes(c.code))) {
      issues.push({
        path: `${path}.coding[${i}].code`,
        kind: 'code',
        message: `code "${c.code ?? ''}" is not in ${system}; known codes: ${allowed.join(', ')}`,
      });
    }
  });
}

/** All rule issues of one resource (Bundle entries included), with FHIRPath-style paths. */
export function ruleIssues(resource: Resource, today: Date, prefix: string = resource.resourceType): RuleIssue[] {
  const issues: RuleIssue[] = [];
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only these types have rules
  switch (resource.resourceType) {
    case 'Encounter':
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Encounter, 'Encounter.status');
      break;
    case 'Task':
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Task, 'Task.status');
      codeIn(issues, `${prefix}.intent`, resource.intent, R4_TASK_INTENT, 'Task.intent');
      checkCodings(issues, `${prefix}.code`, resource.code?.coding, CODE_SYSTEM.task, Object.keys(SVU_TASK_CODE_INFO));
      checkCodings(
        issues,
        `${prefix}.businessStatus`,
        resource.businessStatus?.coding,
        CODE_SYSTEM.taskBusinessStatus,
        TASK_BUSINESS_STATUSES,
      );
      break;
    case 'CarePlan':
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.CarePlan, 'CarePlan.status');
      codeIn(issues, `${prefix}.intent`, resource.intent, R4_CAREPLAN_INTENT, 'CarePlan.intent');
      break;
    case 'Subscription':
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Subscription, 'Subscription.status');
      codeIn(
        issues,
        `${prefix}.channel.type`,
        resource.channel?.type,
        R4_SUBSCRIPTION_CHANNEL,
        'Subscription.channel.type',
      );
      break;
    case 'Patient':
      (resource.identifier ?? []).forEach((id, i) => {
        const kind = identifierSystemKind(id.system);
        if (!kind) return;
        const path = `${prefix}.identifier[${i}].value`;
        const r = checkPersonnummer(id.value ?? '', { today });
        if (!r.ok) {
          issues.push({ path, kind: 'personnummer', message: `invalid ${kind}: ${r.reason}` });
        } else if (r.kind !== kind) {
          issues.push({
            path,
            kind: 'personnummer',
            message: `the number is a ${r.kind} but the identifier system says ${kind}`,
          });
        }
      });
      break;
    case 'Bundle':
      (resource.entry ?? []).forEach((e, i) => {
        if (e.resource) issues.push(...ruleIssues(e.resource, today, `Bundle.entry[${i}].resource`));
      });
      break;
    default:
      break;
  }
  return issues;
}
