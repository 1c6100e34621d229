//! `aigov user`, `aigov token`, `aigov audit`, `aigov backup`, `aigov restore`: local
//! administration. These act directly on the store with the rights of whoever can read the
//! data directory, recorded in the audit log as `cli:<OS user>`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aigov_core::access::Role;
use aigov_server::config::FileConfig;
use aigov_store::users::{NewUser, UserPatch};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use crate::catalog::ListFormat;
use crate::output::{self, note, print, table};
use crate::settings::{self, Global};

/// `aigov user …`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user. Without --password-stdin, a random password is printed once to stderr.
    Create {
        /// Login name (2–64 of a-z 0-9 . _ -).
        username: String,
        /// Role: admin, risk_manager, assessor, contributor, viewer or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown to others.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Set a user's password (ends their sessions). Without --password-stdin, a random one is
    /// printed once to stderr.
    Passwd {
        /// Username.
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: they cannot log in, and their sessions and tokens stop working.
    Disable {
        /// Username.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Username.
        username: String,
    },
}

/// `aigov token …`
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create an API token; the secret is printed once to stdout.
    Create {
        /// The owning user.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Role the token acts with (default: the user's); the user's role must cover it.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
        /// Days until it expires (1–366).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// List tokens (without secrets).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Revoke a token.
    Revoke {
        /// Token id.
        id: String,
    },
}

/// `aigov audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Recompute the hash chain; exit 1 and name the first broken link if it does not hold.
    Verify {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Export every event.
    Export {
        /// `jsonl` (one JSON event per line).
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn read_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the password from stdin")?;
    let p = s.lines().next().unwrap_or("").to_string();
    if p.is_empty() {
        bail!("no password on stdin");
    }
    Ok(p)
}

/// Runs `aigov user …`.
pub fn user(cmd: UserCmd, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    let actor = settings::cli_actor();
    rt.block_on(async {
        match cmd {
            UserCmd::Create {
                username,
                role,
                display_name,
                password_stdin,
            } => {
                let store = settings::open_store(&cfg, true).await?;
                let (password, generated) = if password_stdin {
                    (read_password()?, false)
                } else {
                    (aigov_store::crypto::random_password(), true)
                };
                let u = store
                    .create_user(
                        &actor,
                        NewUser {
                            username,
                            display_name,
                            role,
                            password: password.clone(),
                        },
                    )
                    .await?;
                note(&format!("created user {} ({})", u.username, u.role));
                if generated {
                    note(&format!("password (shown once): {password}"));
                }
            }
            UserCmd::List { format } => {
                let store = settings::open_store(&cfg, false).await?;
                let users = store.list_users().await?;
                match format {
                    ListFormat::Json => print(&output::json(&json!(users))),
                    ListFormat::Table => {
                        let rows: Vec<Vec<String>> = users
                            .iter()
                            .map(|u| {
                                vec![
                                    u.username.clone(),
                                    u.role.to_string(),
                                    if u.disabled {
                                        "disabled".into()
                                    } else {
                                        "active".into()
                                    },
                                    u.display_name.clone(),
                                    u.id.clone(),
                                ]
                            })
                            .collect();
                        print(&table(&["USERNAME", "ROLE", "STATUS", "NAME", "ID"], &rows));
                    }
                }
            }
            UserCmd::Passwd {
                username,
                password_stdin,
            } => {
                let store = settings::open_store(&cfg, false).await?;
                let (password, generated) = if password_stdin {
                    (read_password()?, false)
                } else {
                    (aigov_store::crypto::random_password(), true)
                };
                let u = store.set_password(&actor, &username, &password).await?;
                note(&format!(
                    "password of {} changed; their sessions ended",
                    u.username
                ));
                if generated {
                    note(&format!("new password (shown once): {password}"));
                }
            }
            UserCmd::Disable { username } => {
                let store = settings::open_store(&cfg, false).await?;
                let u = store.get_user(&username).await?;
                let u = store
                    .update_user(
                        &actor,
                        &u.id,
                        UserPatch {
                            disabled: Some(true),
                            ..Default::default()
                        },
                        u.version,
                    )
                    .await?;
                note(&format!("disabled {}", u.username));
            }
            UserCmd::Enable { username } => {
                let store = settings::open_store(&cfg, false).await?;
                let u = store.get_user(&username).await?;
                let u = store
                    .update_user(
                        &actor,
                        &u.id,
                        UserPatch {
                            disabled: Some(false),
                            ..Default::default()
                        },
                        u.version,
                    )
                    .await?;
                note(&format!("enabled {}", u.username));
            }
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Runs `aigov token …`.
pub fn token(cmd: TokenCmd, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    let actor = settings::cli_actor();
    rt.block_on(async {
        let store = settings::open_store(&cfg, false).await?;
        match cmd {
            TokenCmd::Create { user, name, role, days } => {
                if !(1..=366).contains(&days) {
                    bail!("--days must be between 1 and 366");
                }
                let owner = store.get_user(&user).await?;
                let (t, secret) = store.create_token(&actor, &owner, &name, role.unwrap_or(owner.role), store.now().plus_seconds(days * 86_400)).await?;
                note(&format!("created token {} for {} with role {}, expiring {} — the secret below is shown once", t.id, t.username, t.role, t.expires_at));
                print(&format!("{secret}\n"));
            }
            TokenCmd::List { user, format } => {
                let uid = match &user {
                    Some(u) => Some(store.get_user(u).await?.id),
                    None => None,
                };
                let tokens = store.list_tokens(uid.as_deref()).await?;
                match format {
                    ListFormat::Json => print(&output::json(&json!(tokens))),
                    ListFormat::Table => {
                        let rows: Vec<Vec<String>> = tokens
                            .iter()
                            .map(|t| {
                                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                                vec![t.id.clone(), t.username.clone(), t.role.to_string(), t.name.clone(), t.expires_at.clone(), state.into(), t.last_used_at.clone().unwrap_or_default()]
                            })
                            .collect();
                        print(&table(&["ID", "USER", "ROLE", "NAME", "EXPIRES", "STATE", "LAST USED"], &rows));
                    }
                }
            }
            TokenCmd::Revoke { id } => {
                let t = store.revoke_token(&actor, &id).await?;
                note(&format!("revoked token {} of {}", t.id, t.username));
            }
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Runs `aigov audit …`.
pub fn audit(cmd: AuditCmd, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    rt.block_on(async {
        let store = settings::open_store(&cfg, false).await?;
        match cmd {
            AuditCmd::Verify { format } => {
                let started = std::time::Instant::now();
                let r = store.audit_verify().await?;
                let secs = started.elapsed().as_secs_f64();
                match format {
                    ListFormat::Json => print(&output::json(&json!({
                        "ok": r.broken.is_none(), "events": r.events, "head_seq": r.head_seq, "head_hash": r.head_hash,
                        "broken_at": r.broken.as_ref().map(|b| b.seq), "reason": r.broken.as_ref().map(|b| b.reason.clone()),
                    }))),
                    ListFormat::Table => match &r.broken {
                        None => print(&format!("ok: {} events verified in {secs:.2}s; chain head {} at event {}\n", r.events, r.head_hash, r.head_seq)),
                        Some(b) => print(&format!("BROKEN: {b}\n({} events read; recorded head is event {})\n", r.events, r.head_seq)),
                    },
                }
                Ok(if r.broken.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
            AuditCmd::Export { format, out } => {
                if format != "jsonl" {
                    bail!("unknown format {format:?} (expected jsonl)");
                }
                let mut w: Box<dyn std::io::Write> = match &out {
                    Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?)),
                    None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                };
                let mut err = None;
                let n = store
                    .audit_each(|e| {
                        if err.is_none()
                            && let Err(x) = serde_json::to_writer(&mut w, e).map_err(std::io::Error::other).and_then(|_| w.write_all(b"\n"))
                        {
                            err = Some(x);
                        }
                        Ok(())
                    })
                    .await?;
                if let Some(e) = err.or_else(|| w.flush().err()) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(anyhow::Error::new(e).context("cannot write the export"));
                }
                if let Some(p) = out {
                    note(&format!("exported {n} events to {}", p.display()));
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// `aigov backup <file>`.
pub fn backup(file: &Path, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    rt.block_on(async {
        let store = settings::open_store(&cfg, false).await?;
        let blobs = cfg.data_dir.join("blobs");
        let blobs_out = blobs_beside(file);
        if blobs.is_dir() && blobs_out.exists() {
            bail!("{} exists; choose a new backup name", blobs_out.display());
        }
        store.backup_to(file).await?;
        note(&format!("wrote a consistent snapshot of {} to {}", store.location(), file.display()));
        if blobs.is_dir() {
            // Blobs are content-addressed and never rewritten, so a copy taken after the
            // snapshot holds every file the snapshot refers to.
            let n = copy_dir(&blobs, &blobs_out).with_context(|| format!("cannot copy the evidence files to {}", blobs_out.display()))?;
            note(&format!("copied {n} evidence file(s) to {}", blobs_out.display()));
        }
        let key = cfg.data_dir.join("secret.key");
        if cfg.secret_key.is_none() && key.exists() {
            note(&format!("keep {} with the backup: stored endpoint credentials cannot be decrypted without it", key.display()));
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// `aigov restore <file>` into an empty data directory.
pub fn restore(file: &Path, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(g, FileConfig::default())?;
    if cfg.database_url.is_some() {
        bail!(
            "restore writes the embedded SQLite database; for PostgreSQL use pg_restore into an empty database"
        );
    }
    let target = cfg.data_dir.join(aigov_store::db::SQLITE_FILE);
    if target.exists() {
        bail!(
            "{} already holds a database; restore only into an empty data directory (choose another --data-dir)",
            cfg.data_dir.display()
        );
    }
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let mut head = [0u8; 16];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .with_context(|| format!("cannot read {}", file.display()))?;
    if &head != b"SQLite format 3\0" {
        bail!("{} is not an aigov SQLite backup", file.display());
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let tmp = cfg
        .data_dir
        .join(format!(".restore-{}.db", std::process::id()));
    std::fs::copy(file, &tmp).with_context(|| format!("cannot copy {}", file.display()))?;
    std::fs::rename(&tmp, &target).context("cannot move the restored database into place")?;
    let blobs_in = blobs_beside(file);
    if blobs_in.is_dir() {
        let n = copy_dir(&blobs_in, &cfg.data_dir.join("blobs")).with_context(|| {
            format!("cannot copy the evidence files from {}", blobs_in.display())
        })?;
        note(&format!(
            "restored {n} evidence file(s) from {}",
            blobs_in.display()
        ));
    }
    let rt = settings::runtime()?;
    let checked = rt.block_on(async {
        let store = settings::open_store(&cfg, false).await?;
        let v = store.audit_verify().await?;
        let users = store.count_users().await?;
        anyhow::Ok((v, users))
    });
    match checked {
        Ok((v, users)) => {
            note(&format!(
                "restored into {}: {users} user(s), {} audit events",
                cfg.data_dir.display(),
                v.events
            ));
            if let Some(b) = v.broken {
                note(&format!(
                    "warning: the restored audit chain does not verify: {b}"
                ));
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&target);
            Err(e.context("the file is not a usable aigov database; nothing was restored"))
        }
    }
}

/// Where a backup keeps the evidence files: `<file>.blobs/`.
fn blobs_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".blobs");
    PathBuf::from(name)
}

/// Copies a directory tree of plain files; returns how many files were copied.
fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dst)?;
    let mut n = 0;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let t = e.file_type()?;
        let to = dst.join(e.file_name());
        if t.is_dir() {
            n += copy_dir(&e.path(), &to)?;
        } else if t.is_file() {
            std::fs::copy(e.path(), &to)?;
            n += 1;
        }
    }
    Ok(n)
}
