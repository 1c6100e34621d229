//! Resolving configuration for every command: flags > `AIGOV_*` environment > the config
//! file (`--config`, `AIGOV_CONFIG`, or `./aigov.toml` when present) > defaults; and opening
//! the store it describes.

use std::path::PathBuf;
use std::sync::Arc;

use aigov_server::config::{Config, FileConfig};
use aigov_store::{OpenOptions, Store, StoreError};
use anyhow::{Context, Result};

/// Flags every command shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Global {
    /// Configuration file (TOML; see aigov.example.toml). Default: ./aigov.toml when present.
    #[arg(long, global = true, env = "AIGOV_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: the SQLite database, the secret key, imported files [env: AIGOV_DATA_DIR]
    /// [default: ./aigov-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host/db) instead of the embedded SQLite file
    /// [env: AIGOV_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Resolves the configuration; `extra` holds command-specific flags (e.g. `serve --bind`).
pub fn resolve(g: &Global, extra: FileConfig) -> Result<Config> {
    let file = match &g.config {
        Some(p) => FileConfig::read(p)?,
        None => {
            let default = PathBuf::from("aigov.toml");
            if default.is_file() {
                FileConfig::read(&default)?
            } else {
                FileConfig::default()
            }
        }
    };
    let env = FileConfig::from_env(|k| std::env::var(k).ok())?;
    let flags = FileConfig {
        data_dir: g.data_dir.clone(),
        database_url: g.database_url.clone(),
        ..extra
    };
    Ok(file.overlay(env).overlay(flags).resolve()?)
}

/// Store options for a configuration.
pub fn open_options(cfg: &Config, create: bool) -> OpenOptions {
    OpenOptions {
        database_url: cfg.database_url.clone(),
        secret_key: cfg.secret_key.clone(),
        create,
        ..OpenOptions::new(&cfg.data_dir)
    }
}

/// Opens (creating when allowed) the store.
pub async fn open_store(cfg: &Config, create: bool) -> Result<Arc<dyn Store>> {
    aigov_store::open(&open_options(cfg, create))
        .await
        .with_context(|| match &cfg.database_url {
            Some(u) => format!(
                "cannot open the database at {}",
                aigov_store::db::redact_url(u)
            ),
            None => format!("cannot open the data directory {}", cfg.data_dir.display()),
        })
}

/// Opens the store if it exists; `None` when the SQLite file has not been created yet.
pub async fn open_existing(cfg: &Config) -> Result<Option<Arc<dyn Store>>> {
    match aigov_store::open(&open_options(cfg, false)).await {
        Ok(s) => Ok(Some(s)),
        Err(StoreError::NoDatabase(_)) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot open the data directory {}",
            cfg.data_dir.display()
        ))),
    }
}

/// The actor recorded for local commands: `cli:<OS user>`.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// A runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
