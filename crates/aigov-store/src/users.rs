//! Users, browser sessions, API tokens and login throttling.

use aigov_core::access::Role;
use aigov_core::records::{ApiToken, User};
use aigov_core::{FieldError, Invalid, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::crypto::{self, constant_time_eq, secret_hash};
use crate::db::{SqlCore, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};

/// Login throttling: after `MAX_FAILURES` failures within `WINDOW_SECONDS`, the key is
/// locked for `LOCK_SECONDS`.
pub const MAX_FAILURES: i64 = 5;
/// The window in which failures count.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// How long a lock lasts.
pub const LOCK_SECONDS: i64 = 15 * 60;

/// A new user.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 2–64 of a-z 0-9 . _ -
    pub username: String,
    /// Shown name (defaults to the username).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Password (at least 12 characters).
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Changes to a user (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New shown name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable or enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Checks a username.
pub fn check_username(u: &str) -> Result<(), FieldError> {
    let ok = (2..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "username",
            "must be 2 to 64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

/// Checks a password against the policy.
pub fn check_password(p: &str) -> Result<(), FieldError> {
    let n = p.chars().count();
    if n < 12 {
        Err(FieldError::new(
            "password",
            "must have at least 12 characters",
        ))
    } else if n > 1024 {
        Err(FieldError::new(
            "password",
            "must have at most 1024 characters",
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn user_from_row(r: &AnyRow) -> StoreResult<User> {
    let role_s = str_col(r, "role")?;
    Ok(User {
        id: str_col(r, "id")?,
        username: str_col(r, "username")?,
        display_name: str_col(r, "display_name")?,
        role: Role::parse(&role_s)
            .ok_or_else(|| StoreError::Internal(format!("stored role {role_s:?} is unknown")))?,
        disabled: int_col(r, "disabled")? != 0,
        version: int_col(r, "version")?,
        created_at: str_col(r, "created_at")?,
        updated_at: str_col(r, "updated_at")?,
    })
}

fn user_json(u: &User) -> Value {
    json!({"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role.as_str(), "disabled": u.disabled})
}

const USER_COLS: &str =
    "id, username, display_name, role, disabled, version, created_at, updated_at";

impl SqlCore {
    async fn hash(&self, password: String) -> StoreResult<String> {
        let cost = self.password_cost;
        tokio::task::spawn_blocking(move || crypto::hash_password(&password, cost))
            .await
            .map_err(|e| StoreError::Internal(format!("hashing task: {e}")))?
    }

    /// Creates a user.
    pub async fn create_user(&self, actor: &str, u: NewUser) -> StoreResult<User> {
        let username = u.username.trim().to_lowercase();
        let display = u
            .display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| username.clone());
        let mut errs = Vec::new();
        if let Err(e) = check_username(&username) {
            errs.push(e);
        }
        if let Err(e) = check_password(&u.password) {
            errs.push(e);
        }
        if display.chars().count() > 200 {
            errs.push(FieldError::new(
                "display_name",
                "must have at most 200 characters",
            ));
        }
        Invalid::check(errs)?;
        let hash = self.hash(u.password).await?;
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let now = tx.now.to_rfc3339();
        let r = sqlx::query("INSERT INTO users (id, username, display_name, role, password_hash, disabled, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 1, $6, $6)")
            .bind(&id)
            .bind(&username)
            .bind(&display)
            .bind(u.role.as_str())
            .bind(&hash)
            .bind(&now)
            .execute(&mut *tx.tx)
            .await;
        if let Err(e) = r {
            return Err(if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate(format!("username {username:?} is taken"))
            } else {
                e.into()
            });
        }
        let user = User {
            id: id.clone(),
            username,
            display_name: display,
            role: u.role,
            disabled: false,
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        tx.audit(
            "user.create",
            "user",
            &id,
            None,
            Some(&user_json(&user)),
            json!({"username": user.username, "role": user.role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// All users, by username.
    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {USER_COLS} FROM users ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Number of users.
    pub async fn count_users(&self) -> StoreResult<i64> {
        let r = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get::<i64, _>(0)?)
    }

    /// A user by id or username.
    pub async fn get_user(&self, key: &str) -> StoreResult<User> {
        let r = sqlx::query(sql(format!(
            "SELECT {USER_COLS} FROM users WHERE id = $1 OR username = $2"
        )))
        .bind(key)
        .bind(key.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        match r {
            Some(r) => user_from_row(&r),
            None => Err(StoreError::not_found("user", key)),
        }
    }

    /// Changes a user's name, role or disabled flag. Disabling ends the user's sessions.
    pub async fn update_user(
        &self,
        actor: &str,
        key: &str,
        patch: UserPatch,
        expected_version: i64,
    ) -> StoreResult<User> {
        let before = self.get_user(key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "user",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        let mut after = before.clone();
        if let Some(d) = patch.display_name {
            if d.trim().is_empty() || d.chars().count() > 200 {
                return Err(StoreError::invalid(
                    "display_name",
                    "must have 1 to 200 characters",
                ));
            }
            after.display_name = d;
        }
        if let Some(r) = patch.role {
            after.role = r;
        }
        if let Some(d) = patch.disabled {
            after.disabled = d;
        }
        let mut tx = self.begin_write(actor).await?;
        // Never leave the system without an enabled admin.
        if before.role == Role::Admin
            && (after.role != Role::Admin || after.disabled)
            && !before.disabled
        {
            let r = sqlx::query(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $1",
            )
            .bind(&before.id)
            .fetch_one(&mut *tx.tx)
            .await?;
            if r.try_get::<i64, _>(0)? == 0 {
                return Err(StoreError::Conflict(
                    "this is the last enabled admin; make another user admin first".into(),
                ));
            }
        }
        after.version += 1;
        after.updated_at = tx.now.to_rfc3339();
        let n = sqlx::query("UPDATE users SET display_name = $1, role = $2, disabled = $3, version = $4, updated_at = $5 WHERE id = $6 AND version = $7")
            .bind(&after.display_name)
            .bind(after.role.as_str())
            .bind(after.disabled as i64)
            .bind(after.version)
            .bind(&after.updated_at)
            .bind(&after.id)
            .bind(expected_version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::VersionConflict {
                kind: "user",
                id: after.id,
                expected: expected_version,
                current: expected_version + 1,
            });
        }
        if after.disabled && !before.disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&after.id)
                .execute(&mut *tx.tx)
                .await?;
        }
        let action = match (before.disabled, after.disabled) {
            (false, true) => "user.disable",
            (true, false) => "user.enable",
            _ => "user.update",
        };
        tx.audit(
            action,
            "user",
            &after.id,
            Some(&user_json(&before)),
            Some(&user_json(&after)),
            json!({"username": after.username, "role": after.role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sets a user's password and ends their sessions.
    pub async fn set_password(&self, actor: &str, key: &str, password: &str) -> StoreResult<User> {
        check_password(password).map_err(|e| StoreError::Invalid(Invalid(vec![e])))?;
        let user = self.get_user(key).await?;
        let hash = self.hash(password.to_string()).await?;
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        sqlx::query("UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2 WHERE id = $3").bind(&hash).bind(&now).bind(&user.id).execute(&mut *tx.tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user.id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "user.password",
            "user",
            &user.id,
            None,
            None,
            json!({"username": user.username}),
        )
        .await?;
        tx.commit().await?;
        self.get_user(&user.id).await
    }

    /// Checks a login. Failures are counted per `throttle_key` (username and client address);
    /// too many lock the key for a while. Unknown users take as long as known ones.
    pub async fn verify_login(
        &self,
        username: &str,
        password: &str,
        throttle_key: &str,
    ) -> StoreResult<User> {
        let now = self.now();
        if let Some(r) = sqlx::query("SELECT failures, window_start, locked_until FROM login_failures WHERE throttle_key = $1").bind(throttle_key).fetch_optional(&self.pool).await?
            && let Some(until) = opt_str(&r, "locked_until")?
            && Timestamp::parse(&until).map(|u| u > now).unwrap_or(false)
        {
            return Err(StoreError::Locked { until });
        }
        let row = sqlx::query("SELECT id, password_hash, disabled FROM users WHERE username = $1")
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        let (id, hash, disabled) = match &row {
            Some(r) => (
                Some(str_col(r, "id")?),
                str_col(r, "password_hash")?,
                int_col(r, "disabled")? != 0,
            ),
            None => (
                None,
                crypto::dummy_hash(self.password_cost).to_string(),
                false,
            ),
        };
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&pw, &hash))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        match (id, ok && !disabled) {
            (Some(id), true) => {
                sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
                    .bind(throttle_key)
                    .execute(&self.pool)
                    .await?;
                self.get_user(&id).await
            }
            _ => {
                self.record_failure(throttle_key, now).await?;
                Err(StoreError::BadCredentials)
            }
        }
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "SELECT failures, window_start FROM login_failures WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let (failures, start) = match r {
            Some(r) => {
                let start = Timestamp::parse(&str_col(&r, "window_start")?).unwrap_or(now);
                if now.seconds_since(start) > WINDOW_SECONDS {
                    (1, now)
                } else {
                    (int_col(&r, "failures")? + 1, start)
                }
            }
            None => (1, now),
        };
        let locked =
            (failures >= MAX_FAILURES).then(|| now.plus_seconds(LOCK_SECONDS).to_rfc3339());
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_failures (throttle_key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)")
            .bind(key)
            .bind(if locked.is_some() { 0 } else { failures })
            .bind(start.to_rfc3339())
            .bind(locked)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a browser session; returns `(raw session token, csrf token)`. The raw token is
    /// given to the browser only; the database keeps its hash.
    pub async fn create_session(
        &self,
        user: &User,
        absolute_seconds: i64,
    ) -> StoreResult<(String, String)> {
        let raw = crypto::random_token(32);
        let csrf = crypto::random_token(32);
        let mut tx = self.begin_write(&format!("user:{}", user.username)).await?;
        let now = tx.now;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)")
            .bind(secret_hash(&raw))
            .bind(&user.id)
            .bind(&csrf)
            .bind(now.to_rfc3339())
            .bind(now.plus_seconds(absolute_seconds).to_rfc3339())
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "auth.login",
            "user",
            &user.id,
            None,
            None,
            json!({"username": user.username}),
        )
        .await?;
        tx.commit().await?;
        Ok((raw, csrf))
    }

    /// The user behind a session token, if the session is alive (not past its absolute
    /// expiry, not idle longer than `idle_seconds`, user enabled). Touches `last_seen_at` at
    /// most once a minute.
    pub async fn session_user(
        &self,
        raw: &str,
        idle_seconds: i64,
    ) -> StoreResult<Option<(User, String)>> {
        let h = secret_hash(raw);
        let r = sqlx::query(sql(format!(
            "SELECT s.csrf_token, s.last_seen_at, s.expires_at, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        )))
        .bind(&h)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let now = self.now();
        let last = Timestamp::parse(&str_col(&r, "last_seen_at")?).unwrap_or(now);
        let expires = Timestamp::parse(&str_col(&r, "expires_at")?).unwrap_or(now);
        let user = user_from_row(&r)?;
        if now >= expires || now.seconds_since(last) > idle_seconds || user.disabled {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(&h)
                .execute(&self.pool)
                .await?;
            return Ok(None);
        }
        if now.seconds_since(last) >= 60 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now.to_rfc3339())
                .bind(&h)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some((user, str_col(&r, "csrf_token")?)))
    }

    /// Ends a session.
    pub async fn end_session(&self, raw: &str, user: &User) -> StoreResult<()> {
        let mut tx = self.begin_write(&format!("user:{}", user.username)).await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(secret_hash(raw))
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "auth.logout",
            "user",
            &user.id,
            None,
            None,
            json!({"username": user.username}),
        )
        .await?;
        tx.commit().await
    }

    /// Creates an API token for `owner` acting with `role` (which `owner`'s role must cover)
    /// until `expires_at`. Returns the token and its full secret, shown once.
    pub async fn create_token(
        &self,
        actor: &str,
        owner: &User,
        name: &str,
        role: Role,
        expires_at: Timestamp,
    ) -> StoreResult<(ApiToken, String)> {
        let mut errs = Vec::new();
        if name.trim().is_empty() || name.chars().count() > 200 {
            errs.push(FieldError::new("name", "must have 1 to 200 characters"));
        }
        if !owner.role.covers(role) {
            errs.push(FieldError::new(
                "role",
                format!("a {} cannot issue a token with role {role}", owner.role),
            ));
        }
        if owner.disabled {
            errs.push(FieldError::new("user", "the user is disabled"));
        }
        let now = self.now();
        if expires_at <= now {
            errs.push(FieldError::new("expires_at", "must be in the future"));
        } else if expires_at.seconds_since(now) > 366 * 24 * 3600 {
            errs.push(FieldError::new(
                "expires_at",
                "must be at most one year ahead",
            ));
        }
        Invalid::check(errs)?;
        let id = format!(
            "tk{}",
            &crypto::random_token(12)
                .to_lowercase()
                .replace(['-', '_'], "x")[..12]
        );
        let secret = crypto::random_token(32);
        let full = format!("aigov_{id}_{secret}");
        let mut tx = self.begin_write(actor).await?;
        let now_s = tx.now.to_rfc3339();
        sqlx::query("INSERT INTO api_tokens (id, name, secret_hash, role, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(name.trim())
            .bind(secret_hash(&secret))
            .bind(role.as_str())
            .bind(&owner.id)
            .bind(&now_s)
            .bind(expires_at.to_rfc3339())
            .execute(&mut *tx.tx)
            .await?;
        let t = ApiToken {
            id: id.clone(),
            name: name.trim().to_string(),
            role,
            user_id: owner.id.clone(),
            username: owner.username.clone(),
            created_at: now_s,
            expires_at: expires_at.to_rfc3339(),
            revoked_at: None,
            last_used_at: None,
        };
        tx.audit(
            "token.create",
            "token",
            &id,
            None,
            Some(&serde_json::to_value(&t).unwrap_or_default()),
            json!({"name": t.name, "role": role.as_str(), "user": owner.username}),
        )
        .await?;
        tx.commit().await?;
        Ok((t, full))
    }

    fn token_from_row(r: &AnyRow) -> StoreResult<ApiToken> {
        let role_s = str_col(r, "role")?;
        Ok(ApiToken {
            id: str_col(r, "id")?,
            name: str_col(r, "name")?,
            role: Role::parse(&role_s)
                .ok_or_else(|| StoreError::Internal(format!("stored role {role_s:?}")))?,
            user_id: str_col(r, "user_id")?,
            username: str_col(r, "username")?,
            created_at: str_col(r, "created_at")?,
            expires_at: str_col(r, "expires_at")?,
            revoked_at: opt_str(r, "revoked_at")?,
            last_used_at: opt_str(r, "last_used_at")?,
        })
    }

    /// Tokens, of one user or of everyone.
    pub async fn list_tokens(&self, user_id: Option<&str>) -> StoreResult<Vec<ApiToken>> {
        let base = "SELECT t.id, t.name, t.role, t.user_id, u.username, t.created_at, t.expires_at, t.revoked_at, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id";
        let rows = match user_id {
            Some(u) => {
                sqlx::query(sql(format!(
                    "{base} WHERE t.user_id = $1 ORDER BY t.created_at"
                )))
                .bind(u)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sql(format!("{base} ORDER BY t.created_at")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(Self::token_from_row).collect()
    }

    /// A token by id.
    pub async fn get_token(&self, id: &str) -> StoreResult<ApiToken> {
        let r = sqlx::query("SELECT t.id, t.name, t.role, t.user_id, u.username, t.created_at, t.expires_at, t.revoked_at, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref()
            .map(Self::token_from_row)
            .unwrap_or_else(|| Err(StoreError::not_found("token", id)))
    }

    /// Revokes a token (idempotent).
    pub async fn revoke_token(&self, actor: &str, id: &str) -> StoreResult<ApiToken> {
        let t = self.get_token(id).await?;
        if t.revoked_at.is_some() {
            return Ok(t);
        }
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(tx.now.to_rfc3339())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "token.revoke",
            "token",
            id,
            None,
            None,
            json!({"name": t.name, "user": t.username}),
        )
        .await?;
        tx.commit().await?;
        self.get_token(id).await
    }

    /// The token and its user for a presented secret, when the token is valid: not revoked,
    /// not expired, user enabled, and the user's role still covers the token's role.
    pub async fn token_user(&self, presented: &str) -> StoreResult<Option<(ApiToken, User)>> {
        let Some(rest) = presented.strip_prefix("aigov_") else {
            return Ok(None);
        };
        let Some((id, secret)) = rest.split_once('_') else {
            return Ok(None);
        };
        let r = sqlx::query("SELECT secret_hash FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else { return Ok(None) };
        if !constant_time_eq(&str_col(&r, "secret_hash")?, &secret_hash(secret)) {
            return Ok(None);
        }
        let t = self.get_token(id).await?;
        let now = self.now();
        let expired = Timestamp::parse(&t.expires_at)
            .map(|e| e <= now)
            .unwrap_or(true);
        if t.revoked_at.is_some() || expired {
            return Ok(None);
        }
        let u = self.get_user(&t.user_id).await?;
        if u.disabled || !u.role.covers(t.role) {
            return Ok(None);
        }
        let stale = t
            .last_used_at
            .as_deref()
            .and_then(|l| Timestamp::parse(l).ok())
            .map(|l| now.seconds_since(l) >= 60)
            .unwrap_or(true);
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now.to_rfc3339())
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some((t, u)))
    }
}
