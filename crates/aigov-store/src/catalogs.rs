//! Catalogs in the store: built-ins recorded at start (so assessments can cite exactly what
//! the binary shipped), imported catalogs and mapping sets persisted with every version.

use aigov_catalog::formats::aigov::{catalog_json, mapping_set_json};
use aigov_catalog::load::{LoadOptions, parse_document};
use aigov_catalog::{Catalog, Document, Library, MappingSet, Source};
use aigov_core::audit::digest;
use serde_json::json;

use crate::db::{SqlCore, str_col};
use crate::error::{StoreError, StoreResult};

/// A stored catalog row (without its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// `builtin` or `imported`.
    pub origin: String,
    /// sha256 of the canonical JSON body.
    pub digest: String,
    /// When it was stored.
    pub imported_at: String,
    /// By whom.
    pub imported_by: String,
}

impl SqlCore {
    /// Records the built-in catalogs and mapping sets of this binary (new or changed ones
    /// only, each change audited as done by `system`).
    pub async fn sync_builtin_catalogs(&self, lib: &Library) -> StoreResult<usize> {
        let mut changes = Vec::new();
        for (c, o) in lib.catalogs_with_origin() {
            if *o != Source::Builtin {
                continue;
            }
            let body = catalog_json(c);
            let d = digest(&body);
            let r = sqlx::query("SELECT digest FROM catalogs WHERE id = $1 AND version = $2")
                .bind(&c.id)
                .bind(c.version.as_str())
                .fetch_optional(&self.pool)
                .await?;
            let old = r.map(|r| str_col(&r, "digest")).transpose()?;
            if old.as_deref() != Some(d.as_str()) {
                changes.push((true, c.id.clone(), c.version.to_string(), body, d, old));
            }
        }
        for (s, o) in lib.mapping_sets_with_origin() {
            if *o != Source::Builtin {
                continue;
            }
            let body = mapping_set_json(s);
            let d = digest(&body);
            let r = sqlx::query("SELECT digest FROM mapping_sets WHERE id = $1")
                .bind(&s.id)
                .fetch_optional(&self.pool)
                .await?;
            let old = r.map(|r| str_col(&r, "digest")).transpose()?;
            if old.as_deref() != Some(d.as_str()) {
                changes.push((false, s.id.clone(), String::new(), body, d, old));
            }
        }
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write("system").await?;
        let now = tx.now.to_rfc3339();
        for (is_cat, id, version, body, d, old) in &changes {
            if *is_cat {
                sqlx::query("DELETE FROM catalogs WHERE id = $1 AND version = $2")
                    .bind(id)
                    .bind(version)
                    .execute(&mut *tx.tx)
                    .await?;
                sqlx::query("INSERT INTO catalogs (id, version, origin, digest, body, imported_at, imported_by) VALUES ($1, $2, 'builtin', $3, $4, $5, 'system')")
                    .bind(id)
                    .bind(version)
                    .bind(d)
                    .bind(body.to_string())
                    .bind(&now)
                    .execute(&mut *tx.tx)
                    .await?;
                tx.audit(
                    "catalog.builtin",
                    "catalog",
                    &format!("{id}@{version}"),
                    None,
                    Some(body),
                    json!({"digest": d, "previous_digest": old}),
                )
                .await?;
            } else {
                sqlx::query("DELETE FROM mapping_sets WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx.tx)
                    .await?;
                sqlx::query("INSERT INTO mapping_sets (id, origin, digest, body, imported_at, imported_by) VALUES ($1, 'builtin', $2, $3, $4, 'system')")
                    .bind(id)
                    .bind(d)
                    .bind(body.to_string())
                    .bind(&now)
                    .execute(&mut *tx.tx)
                    .await?;
                tx.audit(
                    "mapping_set.builtin",
                    "mapping_set",
                    id,
                    None,
                    Some(body),
                    json!({"digest": d, "previous_digest": old}),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(changes.len())
    }

    /// Stores an imported catalog (a new version keeps the older ones). Built-in keys are
    /// refused; an imported key is replaced only with `replace`.
    pub async fn import_catalog(
        &self,
        actor: &str,
        c: &Catalog,
        replace: bool,
    ) -> StoreResult<bool> {
        let body = catalog_json(c);
        let d = digest(&body);
        let r = sqlx::query("SELECT origin, digest FROM catalogs WHERE id = $1 AND version = $2")
            .bind(&c.id)
            .bind(c.version.as_str())
            .fetch_optional(&self.pool)
            .await?;
        if let Some(r) = &r {
            if str_col(r, "origin")? == "builtin" {
                return Err(StoreError::Conflict(format!(
                    "{} is a built-in catalog and cannot be replaced; import it under another version or id",
                    c.key()
                )));
            }
            if str_col(r, "digest")? == d {
                return Ok(false);
            }
            if !replace {
                return Err(StoreError::Conflict(format!(
                    "{} is already imported with different content; pass --replace to overwrite it",
                    c.key()
                )));
            }
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        sqlx::query("DELETE FROM catalogs WHERE id = $1 AND version = $2")
            .bind(&c.id)
            .bind(c.version.as_str())
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("INSERT INTO catalogs (id, version, origin, digest, body, imported_at, imported_by) VALUES ($1, $2, 'imported', $3, $4, $5, $6)")
            .bind(&c.id)
            .bind(c.version.as_str())
            .bind(&d)
            .bind(body.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "catalog.import",
            "catalog",
            &c.key().to_string(),
            None,
            Some(&body),
            json!({"items": c.items.len(), "replaced": r.is_some()}),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores an imported mapping set.
    pub async fn import_mapping_set(
        &self,
        actor: &str,
        s: &MappingSet,
        replace: bool,
    ) -> StoreResult<bool> {
        let body = mapping_set_json(s);
        let d = digest(&body);
        let r = sqlx::query("SELECT origin, digest FROM mapping_sets WHERE id = $1")
            .bind(&s.id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(r) = &r {
            if str_col(r, "origin")? == "builtin" {
                return Err(StoreError::Conflict(format!(
                    "mapping set {} is built in and cannot be replaced; use another id",
                    s.id
                )));
            }
            if str_col(r, "digest")? == d {
                return Ok(false);
            }
            if !replace {
                return Err(StoreError::Conflict(format!(
                    "mapping set {} is already imported with different content; pass --replace to overwrite it",
                    s.id
                )));
            }
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        sqlx::query("DELETE FROM mapping_sets WHERE id = $1")
            .bind(&s.id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("INSERT INTO mapping_sets (id, origin, digest, body, imported_at, imported_by) VALUES ($1, 'imported', $2, $3, $4, $5)")
            .bind(&s.id)
            .bind(&d)
            .bind(body.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "mapping_set.import",
            "mapping_set",
            &s.id,
            None,
            Some(&body),
            json!({"rows": s.mappings.len(), "replaced": r.is_some()}),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The built-in library plus every imported catalog and mapping set. A stored row that no
    /// longer validates is skipped with a warning rather than hiding the rest.
    pub async fn load_library(&self) -> StoreResult<Library> {
        let mut lib = Library::builtin()
            .map_err(|d| StoreError::Internal(format!("built-in catalogs are invalid:\n{d}")))?;
        let rows = sqlx::query(
            "SELECT id, version, body FROM catalogs WHERE origin = 'imported' ORDER BY id, version",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let name = format!(
                "stored catalog {}@{}",
                str_col(r, "id")?,
                str_col(r, "version")?
            );
            match parse_document(&name, &str_col(r, "body")?, LoadOptions::default()) {
                Ok(Document::Catalog(c)) => {
                    if let Err(e) = lib.add_catalog(c, Source::Imported(name.clone())) {
                        tracing::warn!("{name}: {e}");
                    }
                }
                Ok(Document::MappingSet(_)) => tracing::warn!("{name}: holds a mapping set"),
                Err(d) => tracing::warn!("{name} does not validate:\n{d}"),
            }
        }
        let rows =
            sqlx::query("SELECT id, body FROM mapping_sets WHERE origin = 'imported' ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        for r in &rows {
            let name = format!("stored mapping set {}", str_col(r, "id")?);
            match parse_document(&name, &str_col(r, "body")?, LoadOptions::default()) {
                Ok(Document::MappingSet(s)) => {
                    if let Err(d) = lib.add_mapping_set(s, Source::Imported(name.clone())) {
                        tracing::warn!("{name}:\n{d}");
                    }
                }
                Ok(Document::Catalog(_)) => tracing::warn!("{name}: holds a catalog"),
                Err(d) => tracing::warn!("{name} does not validate:\n{d}"),
            }
        }
        Ok(lib)
    }

    /// The stored catalog rows.
    pub async fn catalog_rows(&self) -> StoreResult<Vec<CatalogRow>> {
        let rows = sqlx::query("SELECT id, version, origin, digest, imported_at, imported_by FROM catalogs ORDER BY id, version").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(CatalogRow {
                    id: str_col(r, "id")?,
                    version: str_col(r, "version")?,
                    origin: str_col(r, "origin")?,
                    digest: str_col(r, "digest")?,
                    imported_at: str_col(r, "imported_at")?,
                    imported_by: str_col(r, "imported_by")?,
                })
            })
            .collect()
    }
}
