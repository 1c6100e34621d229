-- aigov schema 2 (PostgreSQL): the governance loop. Keep in step with sqlite/0002_governance.sql.

CREATE TABLE methodologies (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  builtin BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

ALTER TABLE inventory ADD COLUMN methodology_id TEXT;

CREATE TABLE adoptions (
  id TEXT PRIMARY KEY,
  system_id TEXT NOT NULL REFERENCES inventory(id),
  catalog_id TEXT NOT NULL,
  catalog_version TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  -- Kept in step with the checklist in the same transaction (for fast dashboard totals).
  applicable INTEGER NOT NULL DEFAULT 0,
  assessed INTEGER NOT NULL DEFAULT 0,
  UNIQUE (system_id, catalog_id)
);

CREATE TABLE checklist_items (
  id TEXT PRIMARY KEY,
  adoption_id TEXT NOT NULL REFERENCES adoptions(id),
  item_ref TEXT NOT NULL,
  applies BIGINT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL,
  justification TEXT NOT NULL,
  owner_id TEXT,
  notes TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (adoption_id, item_ref)
);

CREATE TABLE candidates (
  id TEXT PRIMARY KEY,
  system_id TEXT NOT NULL REFERENCES inventory(id),
  rule_id TEXT NOT NULL,
  item TEXT NOT NULL,
  reason TEXT NOT NULL,
  facts TEXT NOT NULL,
  status TEXT NOT NULL,
  decision_reason TEXT,
  decided_by TEXT,
  decided_at TEXT,
  risk_id TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (system_id, rule_id, item)
);

CREATE TABLE risks (
  id TEXT PRIMARY KEY,
  ref_num BIGINT NOT NULL UNIQUE,
  system_id TEXT NOT NULL REFERENCES inventory(id),
  title TEXT NOT NULL,
  title_lower TEXT NOT NULL,
  data TEXT NOT NULL,
  owner_id TEXT,
  status TEXT NOT NULL,
  treatment TEXT,
  treatment_rationale TEXT,
  inherent_level TEXT,
  current_level TEXT,
  current_rank BIGINT,
  residual_level TEXT,
  current_likelihood BIGINT,
  current_impact BIGINT,
  assessed_at TEXT,
  treatment_due TEXT,
  version BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX risks_system ON risks(system_id, ref_num);
CREATE INDEX risks_status ON risks(status, ref_num);
CREATE INDEX risks_rank ON risks(current_rank, ref_num);
CREATE INDEX risks_owner ON risks(owner_id);
CREATE INDEX risks_level ON risks(current_level, ref_num);
CREATE INDEX risks_status_level ON risks(status, current_level);
CREATE INDEX risks_system_status ON risks(system_id, status);
CREATE INDEX risks_heat ON risks(current_likelihood, current_impact, status, system_id);
-- Overdue treatment: untreated risks by status and due date (covering the ref for paging).
CREATE INDEX risks_untreated ON risks(status, treatment_due, ref_num) WHERE treatment IS NULL;
CREATE INDEX risks_updated ON risks(updated_at);
CREATE INDEX risks_title ON risks(title_lower);

CREATE TABLE risk_taxonomy (
  risk_id TEXT NOT NULL REFERENCES risks(id),
  -- The risk's ref number (never changes), so that filters by item stay on indexes.
  risk_ref INTEGER NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (risk_id, item)
);
CREATE INDEX risk_taxonomy_item ON risk_taxonomy(item, risk_ref);

CREATE TABLE assessments (
  id TEXT PRIMARY KEY,
  risk_id TEXT NOT NULL REFERENCES risks(id),
  kind TEXT NOT NULL,
  likelihood BIGINT,
  impact BIGINT,
  level TEXT NOT NULL,
  methodology_id TEXT NOT NULL,
  basis TEXT NOT NULL,
  rationale TEXT NOT NULL,
  evidence TEXT NOT NULL,
  questionnaire TEXT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX assessments_risk ON assessments(risk_id, at);

CREATE TABLE controls (
  id TEXT PRIMARY KEY,
  risk_id TEXT NOT NULL REFERENCES risks(id),
  source TEXT,
  data TEXT NOT NULL,
  status TEXT NOT NULL,
  due_date TEXT,
  owner_id TEXT,
  version BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX controls_risk ON controls(risk_id);
CREATE INDEX controls_due ON controls(due_date);

CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  risk_id TEXT NOT NULL REFERENCES risks(id),
  control_id TEXT,
  title TEXT NOT NULL,
  owner_id TEXT,
  due_date TEXT,
  done BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX actions_risk ON actions(risk_id);

CREATE TABLE acceptances (
  id TEXT PRIMARY KEY,
  risk_id TEXT NOT NULL REFERENCES risks(id),
  status TEXT NOT NULL,
  rationale TEXT NOT NULL,
  level TEXT NOT NULL,
  required_role TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  decision_note TEXT,
  snapshot TEXT
);
CREATE INDEX acceptances_risk ON acceptances(risk_id);
CREATE INDEX acceptances_status ON acceptances(status, expires_at);

CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  ref_num BIGINT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  status TEXT NOT NULL,
  detected_at TEXT NOT NULL,
  report_due TEXT,
  reported_at TEXT,
  data TEXT NOT NULL,
  review TEXT,
  version BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX incidents_status ON incidents(status);

CREATE TABLE incident_links (
  incident_id TEXT NOT NULL REFERENCES incidents(id),
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY (incident_id, target_type, target_id, role)
);
CREATE INDEX incident_links_target ON incident_links(target_id);

CREATE TABLE incident_timeline (
  id TEXT PRIMARY KEY,
  incident_id TEXT NOT NULL REFERENCES incidents(id),
  at TEXT NOT NULL,
  entry TEXT NOT NULL,
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id, at);

CREATE TABLE evidence (
  id TEXT PRIMARY KEY,
  ref_num BIGINT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  sha256 TEXT,
  size BIGINT,
  media_type TEXT,
  file_name TEXT,
  url TEXT,
  effective_date TEXT NOT NULL,
  expires_on TEXT,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);

CREATE TABLE evidence_links (
  evidence_id TEXT NOT NULL REFERENCES evidence(id),
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (evidence_id, target_type, target_id)
);
CREATE INDEX evidence_links_target ON evidence_links(target_type, target_id);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

-- Substring search of risk titles: a trigram index when the pg_trgm extension can be created
-- (it is trusted from PostgreSQL 13); without it, searches scan.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
  CREATE INDEX risks_title_trgm ON risks USING gin (title_lower public.gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm is not available (%); title search will scan', SQLERRM;
END
$$;
