/**
 * Checks of the project's own extensions that medplum's validator does not make: the value type allowed by
 * the extension's definition, and codes from a required binding to one of our ValueSets. Built from the
 * conformance resources in `profiles/`.
 */
import type { CodeSystem, Extension, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';

export interface ExtensionRule {
  url: string;
  /** Allowed `value[x]` property names, e.g. `valueDateTime`. */
  valueKeys: string[];
  /** System and codes allowed by a required binding, when there is one. */
  codes?: { system: string; codes: Set<string> };
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function extensionRules(
  sds: StructureDefinition[],
  codeSystems: CodeSystem[],
  valueSets: ValueSet[],
): Map<string, ExtensionRule> {
  const csByUrl = new Map(codeSystems.map((c) => [c.url, c]));
  const vsByUrl = new Map(valueSets.map((v) => [v.url, v]));
  const rules = new Map<string, ExtensionRule>();
  for (const sd of sds) {
    if (sd.type !== 'Extension' || sd.derivation !== 'constraint' || !sd.url) continue;
    const value = sd.snapshot?.element?.find((e) => e.id === 'Extension.value[x]');
    const rule: ExtensionRule = { url: sd.url, valueKeys: (value?.type ?? []).map((t) => `value${cap(t.code ?? '')}`) };
    const vs = value?.binding?.strength === 'required' ? vsByUrl.get(value.binding.valueSet) : undefined;
    const system = vs?.compose?.include?.[0]?.system;
    const cs = system ? csByUrl.get(system) : undefined;
    if (system && cs) rule.codes = { system, codes: new Set((cs.concept ?? []).map((c) => c.code)) };
    rules.set(sd.url, rule);
  }
  return rules;
}

/**
 * An extension issue. `unknownCode`: a code outside the binding on an Encounter's own extension (the stay's needs,
 * category, kind of care): not an error, since an unknown code never blocks a legally due notification; the intake
 * leaves the value out and says so (src/intake/fhir/unknown-codes.ts).
 */
export interface ExtensionIssue {
  path: string;
  message: string;
  unknownCode?: true;
}

export function extensionIssues(
  resource: Resource,
  rules: Map<string, ExtensionRule>,
  prefix: string = resource.resourceType,
): ExtensionIssue[] {
  const issues: ExtensionIssue[] = [];
  if (resource.resourceType === 'Bundle') {
    (resource.entry ?? []).forEach((e, i) => {
      if (e.resource) issues.push(...extensionIssues(e.resource, rules, `Bundle.entry[${i}].resource`));
    });
    return issues;
  }
  const list = (resource as { extension?: Extension[] }).extension ?? [];
  list.forEach((ext, i) => {
    const rule = rules.get(ext.url);
    if (!rule) return;
    const path = `${prefix}.extension[${i}]`;
    const keys = Object.keys(ext).filter((k) => k.startsWith('value'));
    const key = keys[0];
    if (keys.length !== 1 || key === undefined || !rule.valueKeys.includes(key)) {
      issues.push({ path, message: `extension ${ext.url} needs exactly one of ${rule.valueKeys.join(', ')}` });
      return;
    }
    if (rule.codes && key === 'valueCoding') {
      const c = ext.valueCoding;
      if (c?.system !== rule.codes.system || !rule.codes.codes.has(c.code ?? '')) {
        issues.push({
          path: `${path}.valueCoding`,
          message: `code must be from ${rule.codes.system}: ${[...rule.codes.codes].join(', ')}`,
          ...(resource.resourceType === 'Encounter' && { unknownCode: true as const }),
        });
      }
    }
  });
  return issues;
}
