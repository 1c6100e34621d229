//! Files the CLI writes: atomically, via a temporary file renamed into place, so an
//! interrupted command never leaves a half-written file.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `content` to `path` via a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    std::fs::write(&tmp, content).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot move {} into place", path.display())
    })?;
    Ok(())
}
