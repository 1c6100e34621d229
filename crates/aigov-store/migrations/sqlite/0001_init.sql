-- aigov schema 1 (SQLite). Keep in step with migrations/postgres/0001_init.sql.
-- Times are RFC 3339 UTC text with milliseconds (fixed width, so text order is time order).
-- Booleans are integers 0/1 on both backends.

CREATE TABLE counters (
  kind TEXT PRIMARY KEY,
  next INTEGER NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE login_failures (
  throttle_key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start TEXT NOT NULL,
  locked_until TEXT
);

CREATE TABLE inventory (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref_num INTEGER NOT NULL,
  name TEXT NOT NULL,
  name_lower TEXT NOT NULL,
  system_type TEXT,
  lifecycle_stage TEXT,
  status TEXT,
  owner_id TEXT,
  sector TEXT,
  public_facing INTEGER,
  key_area INTEGER,
  data TEXT NOT NULL,
  secret TEXT,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (kind, ref_num)
);
CREATE INDEX inventory_kind_name ON inventory(kind, name_lower);
CREATE INDEX inventory_kind_updated ON inventory(kind, updated_at);
CREATE INDEX inventory_kind_stage ON inventory(kind, lifecycle_stage);
CREATE INDEX inventory_kind_type ON inventory(kind, system_type);
CREATE INDEX inventory_kind_owner ON inventory(kind, owner_id);

CREATE TABLE links (
  id TEXT PRIMARY KEY,
  from_kind TEXT NOT NULL,
  from_id TEXT NOT NULL REFERENCES inventory(id),
  rel TEXT NOT NULL,
  to_kind TEXT NOT NULL,
  to_id TEXT NOT NULL REFERENCES inventory(id),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (from_id, rel, to_id)
);
CREATE INDEX links_to ON links(to_id);

CREATE TABLE stage_changes (
  id TEXT PRIMARY KEY,
  system_id TEXT NOT NULL REFERENCES inventory(id),
  from_stage TEXT,
  to_stage TEXT NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX stage_changes_system ON stage_changes(system_id, at);

CREATE TABLE catalogs (
  id TEXT NOT NULL,
  version TEXT NOT NULL,
  origin TEXT NOT NULL,
  digest TEXT NOT NULL,
  body TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  imported_by TEXT NOT NULL,
  PRIMARY KEY (id, version)
);

CREATE TABLE mapping_sets (
  id TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  digest TEXT NOT NULL,
  body TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  imported_by TEXT NOT NULL
);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  before_digest TEXT,
  after_digest TEXT,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_object ON audit_events(object_type, object_id);
CREATE INDEX audit_at ON audit_events(at);
CREATE INDEX audit_actor ON audit_events(actor);

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
