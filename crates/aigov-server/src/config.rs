//! Configuration: one typed struct. Precedence: command-line flags > `AIGOV_*` environment >
//! the TOML file > defaults. `aigov.example.toml` at the repository root documents every key;
//! a test keeps it in step with [`FileConfig`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            o => Err(format!("unknown log format {o:?} (expected text or json)")),
        }
    }
}

/// The configuration file: every key optional. Unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL; unset for the embedded SQLite file.
    pub database_url: Option<String>,
    /// Listen address.
    pub bind: Option<String>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// Log filter (`info`, `aigov=debug,info` …).
    pub log_level: Option<String>,
    /// Minutes a browser session may sit idle.
    pub session_idle_minutes: Option<i64>,
    /// Hours a browser session lives at most.
    pub session_absolute_hours: Option<i64>,
    /// Mark cookies Secure (set when served over HTTPS).
    pub secure_cookies: Option<bool>,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Largest import upload, in bytes.
    pub max_import_bytes: Option<usize>,
    /// Base64 key (32 bytes) that encrypts stored credentials.
    pub secret_key: Option<String>,
    /// The public base URL when behind a proxy (for Origin checks).
    pub public_url: Option<String>,
    /// Largest evidence file upload, in bytes.
    pub max_evidence_bytes: Option<usize>,
    /// A directory whose rule files replace the built-in ones of the same name.
    pub rules_dir: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// PostgreSQL URL, if any.
    pub database_url: Option<String>,
    /// Listen address.
    pub bind: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Idle session limit, minutes.
    pub session_idle_minutes: i64,
    /// Absolute session limit, hours.
    pub session_absolute_hours: i64,
    /// Secure cookies.
    pub secure_cookies: bool,
    /// JSON body limit.
    pub max_body_bytes: usize,
    /// Import limit.
    pub max_import_bytes: usize,
    /// Credential key.
    pub secret_key: Option<String>,
    /// Public URL.
    pub public_url: Option<String>,
    /// Evidence upload limit.
    pub max_evidence_bytes: usize,
    /// Rule files overriding the built-in ones.
    pub rules_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(aigov_store::db::redact_url),
            )
            .field("bind", &self.bind)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field("secure_cookies", &self.secure_cookies)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_import_bytes", &self.max_import_bytes)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("public_url", &self.public_url)
            .field("max_evidence_bytes", &self.max_evidence_bytes)
            .field("rules_dir", &self.rules_dir)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./aigov-data"),
            database_url: None,
            bind: "127.0.0.1:8080".into(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            secure_cookies: false,
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 32 * 1024 * 1024,
            secret_key: None,
            public_url: None,
            max_evidence_bytes: 25 * 1024 * 1024,
            rules_dir: None,
        }
    }
}

/// Errors in configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {0}: {1}")]
    Read(String, String),
    /// The file is not valid.
    #[error("configuration file {0}: {1}")]
    Parse(String, String),
    /// A value is out of range.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl FileConfig {
    /// Reads a TOML file.
    pub fn read(path: &std::path::Path) -> Result<FileConfig, ConfigError> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read(path.display().to_string(), e.to_string()))?;
        FileConfig::parse(&s).map_err(|e| ConfigError::Parse(path.display().to_string(), e))
    }

    /// Parses TOML text.
    pub fn parse(s: &str) -> Result<FileConfig, String> {
        toml::from_str(s).map_err(|e| e.to_string().trim().replace('\n', " "))
    }

    /// Every key, as written in the file; `AIGOV_<KEY>` (upper case) sets it from the
    /// environment.
    pub const KEYS: [&'static str; 14] = [
        "data_dir",
        "database_url",
        "bind",
        "log_format",
        "log_level",
        "session_idle_minutes",
        "session_absolute_hours",
        "secure_cookies",
        "max_body_bytes",
        "max_import_bytes",
        "secret_key",
        "public_url",
        "max_evidence_bytes",
        "rules_dir",
    ];

    /// Reads `AIGOV_<KEY>` variables through `get` (injected, so tests need no real
    /// environment).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<FileConfig, ConfigError> {
        let var =
            |k: &str| get(&format!("AIGOV_{}", k.to_ascii_uppercase())).filter(|v| !v.is_empty());
        let num = |k: &str| -> Result<Option<i64>, ConfigError> {
            var(k)
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        ConfigError::Invalid(format!(
                            "AIGOV_{}={v:?} is not a number",
                            k.to_ascii_uppercase()
                        ))
                    })
                })
                .transpose()
        };
        let size = |k: &str| -> Result<Option<usize>, ConfigError> {
            var(k)
                .map(|v| {
                    v.parse::<usize>().map_err(|_| {
                        ConfigError::Invalid(format!(
                            "AIGOV_{}={v:?} is not a number",
                            k.to_ascii_uppercase()
                        ))
                    })
                })
                .transpose()
        };
        Ok(FileConfig {
            data_dir: var("data_dir").map(PathBuf::from),
            database_url: var("database_url"),
            bind: var("bind"),
            log_format: var("log_format")
                .map(|v| {
                    v.parse()
                        .map_err(|m| ConfigError::Invalid(format!("AIGOV_LOG_FORMAT: {m}")))
                })
                .transpose()?,
            log_level: var("log_level"),
            session_idle_minutes: num("session_idle_minutes")?,
            session_absolute_hours: num("session_absolute_hours")?,
            secure_cookies: var("secure_cookies")
                .map(|v| match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => Ok(true),
                    "0" | "false" | "no" => Ok(false),
                    _ => Err(ConfigError::Invalid(format!(
                        "AIGOV_SECURE_COOKIES={v:?} is not true or false"
                    ))),
                })
                .transpose()?,
            max_body_bytes: size("max_body_bytes")?,
            max_import_bytes: size("max_import_bytes")?,
            secret_key: var("secret_key"),
            public_url: var("public_url"),
            max_evidence_bytes: size("max_evidence_bytes")?,
            rules_dir: var("rules_dir").map(PathBuf::from),
        })
    }

    /// Layers `over` on top of `self` (keys set in `over` win).
    pub fn overlay(self, over: FileConfig) -> FileConfig {
        FileConfig {
            data_dir: over.data_dir.or(self.data_dir),
            database_url: over.database_url.or(self.database_url),
            bind: over.bind.or(self.bind),
            log_format: over.log_format.or(self.log_format),
            log_level: over.log_level.or(self.log_level),
            session_idle_minutes: over.session_idle_minutes.or(self.session_idle_minutes),
            session_absolute_hours: over.session_absolute_hours.or(self.session_absolute_hours),
            secure_cookies: over.secure_cookies.or(self.secure_cookies),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
            max_import_bytes: over.max_import_bytes.or(self.max_import_bytes),
            secret_key: over.secret_key.or(self.secret_key),
            public_url: over.public_url.or(self.public_url),
            max_evidence_bytes: over.max_evidence_bytes.or(self.max_evidence_bytes),
            rules_dir: over.rules_dir.or(self.rules_dir),
        }
    }

    /// Fills unset keys with defaults and checks ranges.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let d = Config::default();
        let c = Config {
            data_dir: self.data_dir.unwrap_or(d.data_dir),
            database_url: self.database_url.filter(|u| !u.is_empty()),
            bind: self.bind.unwrap_or(d.bind),
            log_format: self.log_format.unwrap_or(d.log_format),
            log_level: self.log_level.unwrap_or(d.log_level),
            session_idle_minutes: self.session_idle_minutes.unwrap_or(d.session_idle_minutes),
            session_absolute_hours: self
                .session_absolute_hours
                .unwrap_or(d.session_absolute_hours),
            secure_cookies: self.secure_cookies.unwrap_or(d.secure_cookies),
            max_body_bytes: self.max_body_bytes.unwrap_or(d.max_body_bytes),
            max_import_bytes: self.max_import_bytes.unwrap_or(d.max_import_bytes),
            secret_key: self.secret_key.filter(|k| !k.is_empty()),
            public_url: self.public_url.filter(|u| !u.is_empty()),
            max_evidence_bytes: self.max_evidence_bytes.unwrap_or(d.max_evidence_bytes),
            rules_dir: self.rules_dir,
        };
        if !(1024..=1024 * 1024 * 1024).contains(&c.max_evidence_bytes) {
            return Err(ConfigError::Invalid(
                "max_evidence_bytes must be between 1024 and 1073741824 (1 GiB)".into(),
            ));
        }
        if !(1..=24 * 60).contains(&c.session_idle_minutes) {
            return Err(ConfigError::Invalid(
                "session_idle_minutes must be between 1 and 1440".into(),
            ));
        }
        if !(1..=24 * 30).contains(&c.session_absolute_hours) {
            return Err(ConfigError::Invalid(
                "session_absolute_hours must be between 1 and 720".into(),
            ));
        }
        if c.max_body_bytes < 1024 || c.max_import_bytes < c.max_body_bytes {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be at least 1024 and max_import_bytes at least max_body_bytes"
                    .into(),
            ));
        }
        if c.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "bind {:?} is not an address such as 127.0.0.1:8080",
                c.bind
            )));
        }
        Ok(c)
    }
}
