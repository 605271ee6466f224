/**
 * The gateway's subscription topics (Subscriptions Backport IG, R4 form: the canonical goes in
 * `Subscription.criteria`, filters in the `backport-filter-criteria` extension on `_criteria`).
 * R4 has no SubscriptionTopic resource; these canonicals are documented in docs/delivery.md.
 */
export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const EXT = {
  filterCriteria: `${BACKPORT}/backport-filter-criteria`,
  payloadContent: `${BACKPORT}/backport-payload-content`,
  heartbeatPeriod: `${BACKPORT}/backport-heartbeat-period`,
  timeout: `${BACKPORT}/backport-timeout`,
  subscriptionProfile: `${BACKPORT}/backport-subscription`,
  statusProfile: `${BACKPORT}/backport-subscription-status-r4`,
} as const;

export interface TopicDefinition {
  /** Canonical URL (under the configurable canonical base). */
  url: (base: string) => string;
  slug: string;
  title: string;
  /** The resource type whose changes trigger the topic. */
  resourceType: 'Task' | 'Encounter' | 'Communication';
  /**
   * Implicit filter from the subscriber's tenant: `Task?owner=<org>` for the task topic, `Communication?recipient=<org>`
   * for the comment topic (what the read rules let it see is checked again at match time); the stay topic
   * relies on the access re-check (an Encounter is readable by a municipality when one of its Tasks points
   * to it).
   */
  implicitFilter?: (organization: string) => string;
}

export const TOPICS: TopicDefinition[] = [
  {
    slug: 'task-for-my-organisation',
    url: (base) => `${base}/SubscriptionTopic/task-for-my-organisation`,
    title: "A Task owned by the subscriber's organisation was created or changed",
    resourceType: 'Task',
    implicitFilter: (org) => `owner=${org}`,
  },
  {
    slug: 'stay-of-my-patient',
    url: (base) => `${base}/SubscriptionTopic/stay-of-my-patient`,
    title: "The stay (Encounter) of a patient the subscriber's organisation has a Task for changed",
    resourceType: 'Encounter',
  },
  {
    slug: 'comment-for-my-organisation',
    url: (base) => `${base}/SubscriptionTopic/comment-for-my-organisation`,
    title: "A comment (Communication) to the subscriber's organisation was sent or changed",
    resourceType: 'Communication',
    implicitFilter: (org) => `recipient=${org}`,
  },
];

export function findTopic(canonical: string, base: string): TopicDefinition | undefined {
  const bare = canonical.split('|')[0];
  return TOPICS.find((t) => t.url(base) === bare);
}
