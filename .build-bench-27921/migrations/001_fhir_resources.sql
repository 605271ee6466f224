-- FHIR resource store (src/store/repository.pg.ts). Current versions, every version (history), and the search
-- index rows of each current version. Resource JSON is kept as text exactly as returned to clients.
CREATE TABLE fhir_resource (
  resource_type text NOT NULL,
  id text NOT NULL,
  -- 1, 2, 3 ... (meta.versionId as a string)
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  -- NULL when deleted
  content text,
  -- client id and tenant (`Organization/<id>`) of the writer of the current version
  author text,
  author_org text,
  -- every tenant that ever wrote a version: hospital clients see what their organisation wrote
  writer_orgs text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX fhir_resource_updated ON fhir_resource (resource_type, last_updated, id);
CREATE INDEX fhir_resource_writer_orgs ON fhir_resource USING gin (writer_orgs);

-- Every version, the current one included. method: POST | PUT | DELETE (content NULL for DELETE).
CREATE TABLE fhir_resource_history (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  method text NOT NULL,
  content text,
  author text,
  author_org text,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE INDEX fhir_resource_history_updated ON fhir_resource_history (resource_type, last_updated);

-- Search index: one row per (current version, search parameter, value). Rewritten with each version.
--   token:     system = code system / identifier system (NULL when none), value = code / identifier value
--   reference: system = target resource type, value = target id
--   string:    value = lower-cased text without accents
--   uri:       value = the URI as written
--   date:      lo/hi = the instant range the value covers (hi = 'infinity' for an open period)
CREATE TABLE fhir_search (
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  param text NOT NULL,
  system text,
  value text,
  lo timestamptz,
  hi timestamptz
);
CREATE INDEX fhir_search_resource ON fhir_search (resource_type, resource_id);
CREATE INDEX fhir_search_value ON fhir_search (resource_type, param, value);
CREATE INDEX fhir_search_date ON fhir_search (resource_type, param, lo);
