//! Inventory objects (systems, models, datasets, vendors, endpoints), lifecycle stage changes,
//! links, and all-or-nothing imports.
//!
//! All kinds share one table: the fields a user writes are kept as JSON (`data`), and the ones
//! lists filter and sort on are copied into indexed columns.

use aigov_core::inventory::*;
use aigov_core::records::{Link, Record, StageChange};
use aigov_core::{FieldError, Invalid};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, WriteTx, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};

/// Largest number of rows one import accepts.
pub const MAX_IMPORT_ROWS: usize = 100_000;

/// A list filter on an indexed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Systems: `system_type`.
    SystemType(SystemType),
    /// Systems: `lifecycle_stage`.
    Stage(Stage),
    /// Systems: `status`.
    Status(SystemStatus),
    /// Systems: `owner_id`.
    Owner(String),
    /// Systems: `sector`.
    Sector(String),
    /// Systems: `public_facing`.
    PublicFacing(bool),
    /// Systems: `key_area`.
    KeyArea(bool),
}

/// A sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The ref number.
    Ref,
    /// Name (case-insensitive).
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Systems: lifecycle stage.
    Stage,
    /// Systems: type.
    SystemType,
}

impl SortKey {
    /// Parses `name`, `updated_at` …
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "ref" => SortKey::Ref,
            "name" => SortKey::Name,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "lifecycle_stage" => SortKey::Stage,
            "system_type" => SortKey::SystemType,
            _ => return None,
        })
    }

    /// The names accepted by [`SortKey::parse`].
    pub const NAMES: &'static [&'static str] = &[
        "ref",
        "name",
        "created_at",
        "updated_at",
        "lifecycle_stage",
        "system_type",
    ];

    fn column(self) -> &'static str {
        match self {
            SortKey::Ref => "ref_num",
            SortKey::Name => "name_lower",
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::Stage => "lifecycle_stage",
            SortKey::SystemType => "system_type",
        }
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// Filters, all of which must hold.
    pub filters: Vec<Filter>,
    /// Sort key.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// Page size.
    pub limit: i64,
    /// Items to skip.
    pub offset: i64,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            q: None,
            filters: Vec::new(),
            sort: SortKey::Ref,
            desc: false,
            limit: 50,
            offset: 0,
        }
    }
}

/// The indexed copies of a record's fields.
#[derive(Debug, Default)]
struct Promoted {
    system_type: Option<String>,
    status: Option<String>,
    owner_id: Option<String>,
    sector: Option<String>,
    public_facing: Option<i64>,
    key_area: Option<i64>,
}

/// A validated input: the JSON to store (without secrets), its promoted columns, and a new
/// secret to encrypt (endpoints).
struct Checked {
    data: Value,
    promoted: Promoted,
    name: String,
    new_secret: Option<String>,
    keep_secret: bool,
}

/// Deserializes with the path of the offending field in the error.
fn typed<T: DeserializeOwned>(v: &Value, prefix: &str) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let mut path = e.path().to_string();
        let msg = e.inner().to_string();
        // serde reports a missing field at its parent; name the field itself.
        if let Some(name) = msg
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            path = if path == "." {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
        }
        let field = if path == "." {
            prefix.trim_end_matches(": ").to_string()
        } else {
            format!("{prefix}{path}")
        };
        let field = if field.is_empty() {
            "body".to_string()
        } else {
            field
        };
        FieldError::new(field, msg)
    })
}

fn prefixed(prefix: &str, errs: Vec<FieldError>) -> Vec<FieldError> {
    errs.into_iter()
        .map(|e| FieldError::new(format!("{prefix}{}", e.field), e.message))
        .collect()
}

/// Validates `data` as an input of `kind`. `prefix` goes before field names (for imports:
/// `line 4: `). `had_secret` says whether a stored secret exists already.
fn check(
    kind: ObjectKind,
    data: &Value,
    prefix: &str,
    had_secret: bool,
) -> Result<Checked, Vec<FieldError>> {
    if !data.is_object() {
        return Err(vec![FieldError::new(
            if prefix.is_empty() {
                "body".into()
            } else {
                prefix.trim_end_matches(": ").to_string()
            },
            "must be a JSON object",
        )]);
    }
    let one = |e: FieldError| vec![e];
    match kind {
        ObjectKind::System => {
            let s: SystemInput = typed(data, prefix).map_err(one)?;
            let errs = s.validate();
            if !errs.is_empty() {
                return Err(prefixed(prefix, errs));
            }
            let promoted = Promoted {
                system_type: Some(s.system_type.as_str().into()),
                status: Some(s.status.as_str().into()),
                owner_id: s.owner_id.clone(),
                sector: s.sector.clone(),
                public_facing: Some(s.public_facing as i64),
                key_area: Some(s.key_area as i64),
            };
            Ok(Checked {
                name: s.name.clone(),
                data: to_value(&s),
                promoted,
                new_secret: None,
                keep_secret: false,
            })
        }
        ObjectKind::Model => {
            let m: ModelInput = typed(data, prefix).map_err(one)?;
            let errs = m.validate();
            if !errs.is_empty() {
                return Err(prefixed(prefix, errs));
            }
            Ok(Checked {
                name: m.name.clone(),
                data: to_value(&m),
                promoted: Promoted::default(),
                new_secret: None,
                keep_secret: false,
            })
        }
        ObjectKind::Dataset => {
            let d: DatasetInput = typed(data, prefix).map_err(one)?;
            let errs = d.validate();
            if !errs.is_empty() {
                return Err(prefixed(prefix, errs));
            }
            Ok(Checked {
                name: d.name.clone(),
                data: to_value(&d),
                promoted: Promoted::default(),
                new_secret: None,
                keep_secret: false,
            })
        }
        ObjectKind::Vendor => {
            let v: VendorInput = typed(data, prefix).map_err(one)?;
            let errs = v.validate();
            if !errs.is_empty() {
                return Err(prefixed(prefix, errs));
            }
            Ok(Checked {
                name: v.name.clone(),
                data: to_value(&v),
                promoted: Promoted::default(),
                new_secret: None,
                keep_secret: false,
            })
        }
        ObjectKind::Endpoint => {
            let e: EndpointInput = typed(data, prefix).map_err(one)?;
            let errs = e.validate(had_secret);
            if !errs.is_empty() {
                return Err(prefixed(prefix, errs));
            }
            let stored = e.credential.kind == CredentialKind::Stored;
            Ok(Checked {
                name: e.name.clone(),
                data: to_value(&e),
                promoted: Promoted::default(),
                new_secret: if stored {
                    e.credential.secret.clone()
                } else {
                    None
                },
                keep_secret: stored && e.credential.secret.is_none(),
            })
        }
    }
}

const COLS: &str = "id, kind, ref_num, data, lifecycle_stage, secret, version, created_at, created_by, updated_at, updated_by";

fn record_from_row(r: &AnyRow) -> StoreResult<Record> {
    let kind_s = str_col(r, "kind")?;
    let kind = ObjectKind::parse(&kind_s)
        .ok_or_else(|| StoreError::Internal(format!("stored kind {kind_s:?}")))?;
    let data: Value = serde_json::from_str(&str_col(r, "data")?)
        .map_err(|e| StoreError::Internal(format!("stored data: {e}")))?;
    Ok(Record {
        id: str_col(r, "id")?,
        r#ref: kind.ref_kind().format(int_col(r, "ref_num")?),
        kind,
        version: int_col(r, "version")?,
        data,
        lifecycle_stage: opt_str(r, "lifecycle_stage")?.and_then(|s| Stage::parse(&s)),
        has_secret: (kind == ObjectKind::Endpoint)
            .then(|| opt_str(r, "secret").ok().flatten().is_some()),
        created_at: str_col(r, "created_at")?,
        created_by: str_col(r, "created_by")?,
        updated_at: str_col(r, "updated_at")?,
        updated_by: str_col(r, "updated_by")?,
    })
}

/// The JSON an audit digest is computed over: everything the record says, no secret.
fn audit_view(r: &Record) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// Escapes `%`, `_` and `\` for LIKE … ESCAPE '\'.
fn like_pattern(q: &str) -> String {
    let mut s = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

impl SqlCore {
    async fn check_owner(
        &self,
        tx: Option<&mut WriteTx>,
        owner: &Option<String>,
        field: &str,
    ) -> StoreResult<Option<FieldError>> {
        let Some(o) = owner else { return Ok(None) };
        let q = sqlx::query("SELECT disabled FROM users WHERE id = $1").bind(o);
        let r = match tx {
            Some(tx) => q.fetch_optional(&mut *tx.tx).await?,
            None => q.fetch_optional(&self.pool).await?,
        };
        Ok(match r {
            None => Some(FieldError::new(field, "no such user")),
            Some(r) if int_col(&r, "disabled")? != 0 => {
                Some(FieldError::new(field, "the user is disabled"))
            }
            Some(_) => None,
        })
    }

    /// Finds an object by id or human ref (`SYS-12`).
    pub async fn get_object(&self, kind: ObjectKind, key: &str) -> StoreResult<Record> {
        let r = match kind.ref_kind().parse(key) {
            Some(n) => {
                sqlx::query(sql(format!(
                    "SELECT {COLS} FROM inventory WHERE kind = $1 AND ref_num = $2"
                )))
                .bind(kind.as_str())
                .bind(n)
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sql(format!(
                    "SELECT {COLS} FROM inventory WHERE kind = $1 AND id = $2"
                )))
                .bind(kind.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        match r {
            Some(r) => record_from_row(&r),
            None => Err(StoreError::not_found(kind.as_str(), key)),
        }
    }

    /// Finds an object of any kind by id or human ref.
    pub async fn find_object(&self, key: &str) -> StoreResult<Record> {
        for k in ObjectKind::ALL {
            if k.ref_kind().parse(key).is_some() {
                return self.get_object(*k, key).await;
            }
        }
        let r = sqlx::query(sql(format!("SELECT {COLS} FROM inventory WHERE id = $1")))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => record_from_row(&r),
            None => Err(StoreError::not_found("object", key)),
        }
    }

    async fn insert_checked(
        &self,
        tx: &mut WriteTx,
        kind: ObjectKind,
        c: Checked,
        initial_stage: Option<Stage>,
    ) -> StoreResult<Record> {
        let id = tx.new_id();
        let n = tx.next_ref(kind.as_str()).await?;
        let now = tx.now.to_rfc3339();
        let secret = match &c.new_secret {
            Some(s) => Some(self.key.encrypt(s)?),
            None => None,
        };
        let stage = (kind == ObjectKind::System).then(|| initial_stage.unwrap_or(Stage::Plan));
        sqlx::query(
            "INSERT INTO inventory (id, kind, ref_num, name, name_lower, system_type, lifecycle_stage, status, owner_id, sector, public_facing, key_area, data, secret, version, created_at, created_by, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $15, $16)",
        )
        .bind(&id)
        .bind(kind.as_str())
        .bind(n)
        .bind(&c.name)
        .bind(c.name.to_lowercase())
        .bind(c.promoted.system_type.clone())
        .bind(stage.map(|s| s.as_str().to_string()))
        .bind(c.promoted.status.clone())
        .bind(c.promoted.owner_id.clone())
        .bind(c.promoted.sector.clone())
        .bind(c.promoted.public_facing)
        .bind(c.promoted.key_area)
        .bind(c.data.to_string())
        .bind(secret.clone())
        .bind(&now)
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
        let rec = Record {
            id: id.clone(),
            r#ref: kind.ref_kind().format(n),
            kind,
            version: 1,
            data: c.data,
            lifecycle_stage: stage,
            has_secret: (kind == ObjectKind::Endpoint).then_some(secret.is_some()),
            created_at: now.clone(),
            created_by: tx.actor.clone(),
            updated_at: now,
            updated_by: tx.actor.clone(),
        };
        if let Some(s) = stage {
            sqlx::query("INSERT INTO stage_changes (id, system_id, from_stage, to_stage, reason, at, actor) VALUES ($1, $2, NULL, $3, $4, $5, $6)")
                .bind(tx.new_id())
                .bind(&id)
                .bind(s.as_str())
                .bind("registered")
                .bind(&rec.created_at)
                .bind(&tx.actor)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.audit(
            &format!("{}.create", kind.as_str()),
            kind.as_str(),
            &id,
            None,
            Some(&audit_view(&rec)),
            json!({"ref": rec.r#ref, "name": c.name}),
        )
        .await?;
        Ok(rec)
    }

    /// Creates an object. Systems start at `initial_stage` (default `plan`), recorded as the
    /// first stage change.
    pub async fn create_object(
        &self,
        actor: &str,
        kind: ObjectKind,
        data: Value,
        initial_stage: Option<Stage>,
    ) -> StoreResult<Record> {
        if kind != ObjectKind::System && initial_stage.is_some() {
            return Err(StoreError::invalid(
                "lifecycle_stage",
                "only systems have a lifecycle stage",
            ));
        }
        let c = check(kind, &data, "", false).map_err(|e| StoreError::Invalid(Invalid(e)))?;
        let mut tx = self.begin_write(actor).await?;
        if let Some(e) = self
            .check_owner(Some(&mut tx), &c.promoted.owner_id, "owner_id")
            .await?
        {
            return Err(StoreError::Invalid(Invalid(vec![e])));
        }
        let rec = self.insert_checked(&mut tx, kind, c, initial_stage).await?;
        tx.commit().await?;
        Ok(rec)
    }

    /// Applies a JSON merge patch (RFC 7396) to an object, if its version is still
    /// `expected_version`.
    pub async fn update_object(
        &self,
        actor: &str,
        kind: ObjectKind,
        key: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Record> {
        let Some(p) = patch.as_object() else {
            return Err(StoreError::invalid(
                "body",
                "must be a JSON object (a JSON merge patch)",
            ));
        };
        if kind == ObjectKind::System && p.contains_key("lifecycle_stage") {
            return Err(StoreError::invalid(
                "lifecycle_stage",
                "change the stage with POST /api/v1/systems/{id}/stage, which records a reason",
            ));
        }
        let before = self.get_object(kind, key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: kind.as_str(),
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        let mut merged = before.data.clone();
        merge_patch(&mut merged, &patch);
        let c = check(kind, &merged, "", before.has_secret.unwrap_or(false))
            .map_err(|e| StoreError::Invalid(Invalid(e)))?;
        let mut tx = self.begin_write(actor).await?;
        if let Some(e) = self
            .check_owner(Some(&mut tx), &c.promoted.owner_id, "owner_id")
            .await?
        {
            return Err(StoreError::Invalid(Invalid(vec![e])));
        }
        let now = tx.now.to_rfc3339();
        let secret_sql = match (&c.new_secret, c.keep_secret) {
            (Some(s), _) => Some(Some(self.key.encrypt(s)?)),
            (None, true) => None,
            (None, false) => Some(None),
        };
        let mut q = String::from(
            "UPDATE inventory SET name = $1, name_lower = $2, system_type = $3, status = $4, owner_id = $5, sector = $6, public_facing = $7, key_area = $8, data = $9, version = version + 1, updated_at = $10, updated_by = $11",
        );
        if secret_sql.is_some() {
            q.push_str(", secret = $14");
        }
        q.push_str(" WHERE id = $12 AND version = $13");
        let mut query = sqlx::query(sql(q))
            .bind(&c.name)
            .bind(c.name.to_lowercase())
            .bind(c.promoted.system_type.clone())
            .bind(c.promoted.status.clone())
            .bind(c.promoted.owner_id.clone())
            .bind(c.promoted.sector.clone())
            .bind(c.promoted.public_facing)
            .bind(c.promoted.key_area)
            .bind(c.data.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .bind(&before.id)
            .bind(expected_version);
        if let Some(s) = secret_sql.clone() {
            query = query.bind(s);
        }
        let n = query.execute(&mut *tx.tx).await?.rows_affected();
        if n != 1 {
            return Err(StoreError::VersionConflict {
                kind: kind.as_str(),
                id: before.id,
                expected: expected_version,
                current: expected_version + 1,
            });
        }
        let after = Record {
            version: before.version + 1,
            data: c.data,
            has_secret: match (&secret_sql, kind) {
                (_, k) if k != ObjectKind::Endpoint => None,
                (Some(s), _) => Some(s.is_some()),
                (None, _) => before.has_secret,
            },
            updated_at: now,
            updated_by: tx.actor.clone(),
            ..before.clone()
        };
        let secret_changed = c.new_secret.is_some();
        tx.audit(
            &format!("{}.update", kind.as_str()),
            kind.as_str(),
            &after.id,
            Some(&audit_view(&before)),
            Some(&audit_view(&after)),
            json!({"ref": after.r#ref, "changed": patch.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default(), "secret_changed": secret_changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes an object that nothing links to. With `expected_version`, only if unchanged.
    pub async fn delete_object(
        &self,
        actor: &str,
        kind: ObjectKind,
        key: &str,
        expected_version: Option<i64>,
    ) -> StoreResult<()> {
        let before = self.get_object(kind, key).await?;
        if let Some(v) = expected_version
            && v != before.version
        {
            return Err(StoreError::VersionConflict {
                kind: kind.as_str(),
                id: before.id,
                expected: v,
                current: before.version,
            });
        }
        let mut tx = self.begin_write(actor).await?;
        let r = sqlx::query("SELECT COUNT(*) FROM links WHERE from_id = $1 OR to_id = $1")
            .bind(&before.id)
            .fetch_one(&mut *tx.tx)
            .await?;
        let links = r.try_get::<i64, _>(0)?;
        if links > 0 {
            return Err(StoreError::Conflict(format!(
                "{} has {links} link(s); remove them first",
                before.r#ref
            )));
        }
        sqlx::query("DELETE FROM stage_changes WHERE system_id = $1")
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM inventory WHERE id = $1")
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            &format!("{}.delete", kind.as_str()),
            kind.as_str(),
            &before.id,
            Some(&audit_view(&before)),
            None,
            json!({"ref": before.r#ref, "name": before.data.get("name")}),
        )
        .await?;
        tx.commit().await
    }

    /// Lists objects of `kind`.
    pub async fn list_objects(
        &self,
        kind: ObjectKind,
        q: &ListQuery,
    ) -> StoreResult<(Vec<Record>, i64)> {
        let mut wh = String::from("kind = $1");
        let mut args: Vec<Value> = vec![json!(kind.as_str())];
        let push = |cond: &str, v: Value, args: &mut Vec<Value>, wh: &mut String| {
            args.push(v);
            wh.push_str(&format!(" AND {cond} ${}", args.len()));
        };
        if let Some(s) = q.q.as_deref().filter(|s| !s.trim().is_empty()) {
            args.push(json!(like_pattern(s.trim())));
            wh.push_str(&format!(" AND name_lower LIKE ${} ESCAPE '\\'", args.len()));
        }
        for f in &q.filters {
            match f {
                Filter::SystemType(t) => {
                    push("system_type =", json!(t.as_str()), &mut args, &mut wh)
                }
                Filter::Stage(s) => {
                    push("lifecycle_stage =", json!(s.as_str()), &mut args, &mut wh)
                }
                Filter::Status(s) => push("status =", json!(s.as_str()), &mut args, &mut wh),
                Filter::Owner(o) => push("owner_id =", json!(o), &mut args, &mut wh),
                Filter::Sector(s) => push("sector =", json!(s), &mut args, &mut wh),
                Filter::PublicFacing(b) => {
                    push("public_facing =", json!(*b as i64), &mut args, &mut wh)
                }
                Filter::KeyArea(b) => push("key_area =", json!(*b as i64), &mut args, &mut wh),
            }
        }
        let count_q = DynQuery::new(
            format!("SELECT COUNT(*) FROM inventory WHERE {wh}"),
            &args,
            &[],
        );
        let count = count_q
            .build()
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>(0)?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        let n = args.len();
        let sql = format!(
            "SELECT {COLS} FROM inventory WHERE {wh} ORDER BY {} {dir}, ref_num {dir} LIMIT ${} OFFSET ${}",
            q.sort.column(),
            n + 1,
            n + 2
        );
        let list_q = DynQuery::new(sql, &args, &[q.limit, q.offset]);
        let rows = list_q.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(record_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, count))
    }

    /// Moves a system to another lifecycle stage, recording who, when and why. Stage gates
    /// are not consulted here; [`SqlCore::move_stage`] applies them.
    pub async fn change_stage(
        &self,
        actor: &str,
        key: &str,
        to: Stage,
        reason: &str,
        expected_version: i64,
    ) -> StoreResult<Record> {
        self.change_stage_at(actor, key, to, reason, expected_version, None, None)
            .await?
            .ok_or_else(|| StoreError::Internal("an unchecked stage change was refused".into()))
    }

    /// The stage change; with `gate_head`, only if the audit head is still there (checked
    /// under the write lock), `Ok(None)` otherwise.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_stage_at(
        &self,
        actor: &str,
        key: &str,
        to: Stage,
        reason: &str,
        expected_version: i64,
        extra: Option<Value>,
        gate_head: Option<i64>,
    ) -> StoreResult<Option<Record>> {
        let before = self.get_object(ObjectKind::System, key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "system",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        if reason.trim().is_empty() || reason.chars().count() > 2000 {
            return Err(StoreError::invalid(
                "reason",
                "must have 1 to 2000 characters",
            ));
        }
        if before.lifecycle_stage == Some(to) {
            return Err(StoreError::invalid(
                "to",
                format!("the system is already at stage {to}"),
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        if gate_head.is_some_and(|h| h != tx.start_seq()) {
            return Ok(None);
        }
        let now = tx.now.to_rfc3339();
        let n = sqlx::query("UPDATE inventory SET lifecycle_stage = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4 AND version = $5")
            .bind(to.as_str())
            .bind(&now)
            .bind(&tx.actor)
            .bind(&before.id)
            .bind(expected_version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::VersionConflict {
                kind: "system",
                id: before.id,
                expected: expected_version,
                current: expected_version + 1,
            });
        }
        sqlx::query("INSERT INTO stage_changes (id, system_id, from_stage, to_stage, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(tx.new_id())
            .bind(&before.id)
            .bind(before.lifecycle_stage.map(|s| s.as_str().to_string()))
            .bind(to.as_str())
            .bind(reason.trim())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        let after = Record {
            lifecycle_stage: Some(to),
            version: before.version + 1,
            updated_at: now,
            updated_by: tx.actor.clone(),
            ..before.clone()
        };
        tx.audit(
            "system.stage",
            "system",
            &after.id,
            Some(&audit_view(&before)),
            Some(&audit_view(&after)),
            {
                let mut d = json!({"ref": after.r#ref, "from": before.lifecycle_stage.map(|s| s.as_str()), "to": to.as_str(), "reason": reason.trim()});
                if let (Some(Value::Object(x)), Some(obj)) = (extra, d.as_object_mut()) {
                    obj.extend(x);
                }
                d
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// A system's stage changes, oldest first.
    pub async fn stage_history(&self, key: &str) -> StoreResult<Vec<StageChange>> {
        let sys = self.get_object(ObjectKind::System, key).await?;
        let rows = sqlx::query("SELECT id, system_id, from_stage, to_stage, reason, at, actor FROM stage_changes WHERE system_id = $1 ORDER BY at, id").bind(&sys.id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(StageChange {
                    id: str_col(r, "id")?,
                    system_id: str_col(r, "system_id")?,
                    from_stage: opt_str(r, "from_stage")?.and_then(|s| Stage::parse(&s)),
                    to_stage: Stage::parse(&str_col(r, "to_stage")?)
                        .ok_or_else(|| StoreError::Internal("stored stage".into()))?,
                    reason: str_col(r, "reason")?,
                    at: str_col(r, "at")?,
                    actor: str_col(r, "actor")?,
                })
            })
            .collect()
    }

    fn link_from_row(r: &AnyRow) -> StoreResult<Link> {
        let k = |c: &str| -> StoreResult<ObjectKind> {
            ObjectKind::parse(&str_col(r, c)?)
                .ok_or_else(|| StoreError::Internal("stored link kind".into()))
        };
        Ok(Link {
            id: str_col(r, "id")?,
            from_kind: k("from_kind")?,
            from_id: str_col(r, "from_id")?,
            rel: LinkRel::parse(&str_col(r, "rel")?)
                .ok_or_else(|| StoreError::Internal("stored rel".into()))?,
            to_kind: k("to_kind")?,
            to_id: str_col(r, "to_id")?,
            created_at: str_col(r, "created_at")?,
            created_by: str_col(r, "created_by")?,
        })
    }

    /// Links two objects (given by id or ref).
    pub async fn create_link(
        &self,
        actor: &str,
        from: &str,
        rel: LinkRel,
        to: &str,
    ) -> StoreResult<Link> {
        let a = self
            .find_object(from)
            .await
            .map_err(|_| StoreError::invalid("from", format!("no inventory object {from:?}")))?;
        let b = self
            .find_object(to)
            .await
            .map_err(|_| StoreError::invalid("to", format!("no inventory object {to:?}")))?;
        if !link_allowed(a.kind, rel, b.kind) {
            return Err(StoreError::invalid(
                "rel",
                format!("a {} cannot be linked `{rel}` to a {}", a.kind, b.kind),
            ));
        }
        if a.id == b.id {
            return Err(StoreError::invalid(
                "to",
                "an object cannot be linked to itself",
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        let link = Link {
            id: tx.new_id(),
            from_kind: a.kind,
            from_id: a.id.clone(),
            rel,
            to_kind: b.kind,
            to_id: b.id.clone(),
            created_at: tx.now.to_rfc3339(),
            created_by: tx.actor.clone(),
        };
        let r = sqlx::query("INSERT INTO links (id, from_kind, from_id, rel, to_kind, to_id, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&link.id)
            .bind(a.kind.as_str())
            .bind(&a.id)
            .bind(rel.as_str())
            .bind(b.kind.as_str())
            .bind(&b.id)
            .bind(&link.created_at)
            .bind(&link.created_by)
            .execute(&mut *tx.tx)
            .await;
        if let Err(e) = r {
            return Err(if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate(format!("{} {rel} {} already exists", a.r#ref, b.r#ref))
            } else {
                e.into()
            });
        }
        tx.audit(
            "link.create",
            "link",
            &link.id,
            None,
            Some(&serde_json::to_value(&link).unwrap_or_default()),
            json!({"from": a.r#ref, "rel": rel.as_str(), "to": b.r#ref}),
        )
        .await?;
        tx.commit().await?;
        Ok(link)
    }

    /// Links from or to an object (all links when `None`).
    pub async fn list_links(&self, object: Option<&str>) -> StoreResult<Vec<Link>> {
        let base =
            "SELECT id, from_kind, from_id, rel, to_kind, to_id, created_at, created_by FROM links";
        let rows = match object {
            Some(o) => {
                let rec = self.find_object(o).await?;
                sqlx::query(sql(format!(
                    "{base} WHERE from_id = $1 OR to_id = $1 ORDER BY created_at, id"
                )))
                .bind(rec.id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sql(format!("{base} ORDER BY created_at, id")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(Self::link_from_row).collect()
    }

    /// Removes a link.
    pub async fn delete_link(&self, actor: &str, id: &str) -> StoreResult<()> {
        let r = sqlx::query("SELECT id, from_kind, from_id, rel, to_kind, to_id, created_at, created_by FROM links WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let link = match r {
            Some(r) => Self::link_from_row(&r)?,
            None => return Err(StoreError::not_found("link", id)),
        };
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("DELETE FROM links WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "link.delete",
            "link",
            id,
            Some(&serde_json::to_value(&link).unwrap_or_default()),
            None,
            json!({"rel": link.rel.as_str()}),
        )
        .await?;
        tx.commit().await
    }

    /// Imports objects: every row is checked first and all row errors are reported with their
    /// line numbers; only when all rows are valid are they written, in one transaction.
    pub async fn import_objects(
        &self,
        actor: &str,
        kind: ObjectKind,
        rows: Vec<(u64, Value)>,
    ) -> StoreResult<Vec<Record>> {
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(StoreError::invalid(
                "rows",
                format!(
                    "{} rows; the limit per import is {MAX_IMPORT_ROWS}",
                    rows.len()
                ),
            ));
        }
        let mut errs = Vec::new();
        let mut checked = Vec::with_capacity(rows.len());
        for (line, v) in &rows {
            let prefix = format!("line {line}: ");
            match check(kind, v, &prefix, false) {
                Ok(c) => {
                    if let Some(e) = self
                        .check_owner(None, &c.promoted.owner_id, &format!("{prefix}owner_id"))
                        .await?
                    {
                        errs.push(e);
                    }
                    checked.push(c);
                }
                Err(e) => errs.extend(e),
            }
        }
        if !errs.is_empty() {
            return Err(StoreError::ImportRows(errs));
        }
        if checked.is_empty() {
            return Err(StoreError::invalid("rows", "the file has no rows"));
        }
        let mut tx = self.begin_write(actor).await?;
        let mut out = Vec::with_capacity(checked.len());
        for c in checked {
            out.push(self.insert_checked(&mut tx, kind, c, None).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Every object of `kind`, by ref.
    pub async fn export_objects(&self, kind: ObjectKind) -> StoreResult<Vec<Record>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {COLS} FROM inventory WHERE kind = $1 ORDER BY ref_num"
        )))
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// The decrypted stored credential of an endpoint (for the components that call it; never
    /// for API responses).
    pub async fn endpoint_secret(&self, key: &str) -> StoreResult<Option<String>> {
        let rec = self.get_object(ObjectKind::Endpoint, key).await?;
        let r = sqlx::query("SELECT secret FROM inventory WHERE id = $1")
            .bind(&rec.id)
            .fetch_one(&self.pool)
            .await?;
        match opt_str(&r, "secret")? {
            Some(s) => Ok(Some(self.key.decrypt(&s)?)),
            None => Ok(None),
        }
    }
}

/// A query whose arguments are bound at run time from a list (for list filters).
struct DynQuery {
    sql: String,
    args: Vec<DynArg>,
}

enum DynArg {
    Str(String),
    Int(i64),
}

impl DynQuery {
    fn new(sql: String, args: &[Value], extra: &[i64]) -> DynQuery {
        let mut v: Vec<DynArg> = args
            .iter()
            .map(|a| match a {
                Value::Number(n) => DynArg::Int(n.as_i64().unwrap_or(0)),
                Value::String(s) => DynArg::Str(s.clone()),
                other => DynArg::Str(other.to_string()),
            })
            .collect();
        v.extend(extra.iter().map(|i| DynArg::Int(*i)));
        DynQuery { sql, args: v }
    }

    fn build(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sql(self.sql.clone()));
        for a in &self.args {
            q = match a {
                DynArg::Str(s) => q.bind(s.as_str()),
                DynArg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}
