//! `aigov serve`: the web UI and the REST API on one port.

use std::process::ExitCode;

use aigov_core::access::Role;
use aigov_server::config::{Config, FileConfig, LogFormat};
use aigov_server::{AppState, serve};
use aigov_store::users::NewUser;
use anyhow::{Context, Result};

use crate::output::note;
use crate::settings::{self, Global};

/// `aigov serve` flags.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [env: AIGOV_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Log format: text or json [env: AIGOV_LOG_FORMAT]
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// Log filter, e.g. info or aigov_server=debug [env: AIGOV_LOG_LEVEL]
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(args: ServeArgs, g: &Global) -> Result<ExitCode> {
    let cfg = settings::resolve(
        g,
        FileConfig {
            bind: args.bind,
            log_format: args.log_format,
            log_level: args.log_level,
            ..FileConfig::default()
        },
    )?;
    init_logging(&cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let store = settings::open_store(&cfg, true).await?;
        if store.count_users().await? == 0 {
            let password = aigov_store::crypto::random_password();
            store
                .create_user(
                    "system",
                    NewUser {
                        username: "admin".into(),
                        display_name: Some("Administrator".into()),
                        role: Role::Admin,
                        password: password.clone(),
                    },
                )
                .await
                .context("cannot create the first admin")?;
            note("first start: created user `admin`");
            note(&format!(
                "  password (shown once, change it after logging in): {password}"
            ));
        }
        let location = store.location();
        let state = AppState::new(store, cfg.clone()).await?;
        serve(state, |addr| {
            note(&format!(
                "aigov {} serving http://{addr}  (data: {location}; stop with Ctrl-C)",
                env!("CARGO_PKG_VERSION")
            ));
        })
        .await
        .with_context(|| format!("cannot listen on {}", cfg.bind))?;
        note("aigov stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
