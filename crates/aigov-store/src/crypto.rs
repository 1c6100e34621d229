//! Secrets: OS randomness, argon2id password hashes, token hashing, and encryption at rest of
//! stored endpoint credentials (ChaCha20-Poly1305 with a key kept outside the database).

use std::path::PathBuf;
use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::db::PasswordCost;
use crate::error::{StoreError, StoreResult};

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        // No randomness means no safe ids, salts or tokens; there is nothing sensible to do.
        panic!("the operating system's random number generator failed: {e}");
    }
}

/// `n` random bytes as URL-safe base64.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    fill_random(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A random password of 20 characters from an unambiguous alphabet.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 20];
    fill_random(&mut b);
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

/// Lowercase hex sha256 of a secret (tokens, session ids are looked up by this).
pub fn secret_hash(s: &str) -> String {
    aigov_core::audit::sha256_hex(s.as_bytes())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn argon2(cost: PasswordCost) -> Argon2<'static> {
    let params = match cost {
        PasswordCost::Standard => Params::new(19 * 1024, 2, 1, None),
        PasswordCost::Low => Params::new(1024, 1, 1, None),
    }
    .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id (PHC string format, parameters included).
pub fn hash_password(password: &str, cost: PasswordCost) -> StoreResult<String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    argon2(cost)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash (the parameters come from the hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a random password, used to spend the same time when a user does not exist.
pub fn dummy_hash(cost: PasswordCost) -> &'static str {
    static STD: OnceLock<String> = OnceLock::new();
    static LOW: OnceLock<String> = OnceLock::new();
    let cell = match cost {
        PasswordCost::Standard => &STD,
        PasswordCost::Low => &LOW,
    };
    cell.get_or_init(|| hash_password(&random_password(), cost).unwrap_or_default())
}

/// The key that encrypts stored credentials: given in configuration, or kept in
/// `<data-dir>/secret.key` (created with mode 0600 on first need).
#[derive(Debug)]
pub struct SecretKey {
    configured: Option<String>,
    file: PathBuf,
    loaded: OnceLock<[u8; 32]>,
}

impl SecretKey {
    pub(crate) fn new(configured: Option<String>, file: PathBuf) -> SecretKey {
        SecretKey {
            configured,
            file,
            loaded: OnceLock::new(),
        }
    }

    fn decode(s: &str, whence: &str) -> StoreResult<[u8; 32]> {
        let b = STANDARD
            .decode(s.trim())
            .map_err(|_| StoreError::Config(format!("{whence}: the secret key is not base64")))?;
        b.try_into().map_err(|_| {
            StoreError::Config(format!(
                "{whence}: the secret key must be 32 bytes (44 base64 characters)"
            ))
        })
    }

    fn key(&self) -> StoreResult<[u8; 32]> {
        if let Some(k) = self.loaded.get() {
            return Ok(*k);
        }
        let k = match &self.configured {
            Some(s) => Self::decode(s, "secret_key")?,
            None => match std::fs::read_to_string(&self.file) {
                Ok(s) => Self::decode(&s, &self.file.display().to_string())?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let mut k = [0u8; 32];
                    fill_random(&mut k);
                    write_private(&self.file, &STANDARD.encode(k))?;
                    k
                }
                Err(e) => {
                    return Err(StoreError::Io(format!(
                        "cannot read {}: {e}",
                        self.file.display()
                    )));
                }
            },
        };
        let _ = self.loaded.set(k);
        Ok(k)
    }

    /// Encrypts `plain`; the result is `base64(nonce || ciphertext)`.
    pub fn encrypt(&self, plain: &str) -> StoreResult<String> {
        let k = self.key()?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&k));
        let mut n = [0u8; 12];
        fill_random(&mut n);
        let ct = cipher
            .encrypt(Nonce::from_slice(&n), plain.as_bytes())
            .map_err(|_| StoreError::Internal("encryption failed".into()))?;
        let mut out = n.to_vec();
        out.extend(ct);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts what [`SecretKey::encrypt`] produced.
    pub fn decrypt(&self, stored: &str) -> StoreResult<String> {
        let k = self.key()?;
        let raw = STANDARD
            .decode(stored)
            .map_err(|_| StoreError::Internal("stored secret is not base64".into()))?;
        if raw.len() < 12 {
            return Err(StoreError::Internal("stored secret is truncated".into()));
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&k));
        let plain = cipher
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| StoreError::Config("a stored credential cannot be decrypted: the secret key differs from the one it was stored with".into()))?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Internal("stored secret is not UTF-8".into()))
    }
}

fn write_private(path: &std::path::Path, content: &str) -> StoreResult<()> {
    use std::io::Write;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", d.display())))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(content.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::Io(format!("cannot write {}: {e}", path.display())))
}
