//! The data directory's catalog area: imported catalogs and mapping sets, stored as aigov JSON
//! (`catalogs/<id>@<version>.json`, `mappings/<id>.json`). Writes go to a temporary file that is
//! renamed into place, so an interrupted import never leaves a half-written catalog.

use std::path::{Path, PathBuf};

use aigov_catalog::formats::aigov;
use aigov_catalog::load::{LoadOptions, parse_document};
use aigov_catalog::{Catalog, Document, Library, MappingSet, Source};
use anyhow::{Context, Result};

use crate::output::note;

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A data directory at `root` (not created until something is written).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    fn catalogs_dir(&self) -> PathBuf {
        self.root.join("catalogs")
    }

    fn mappings_dir(&self) -> PathBuf {
        self.root.join("mappings")
    }

    /// Where catalog `key` is stored.
    pub fn catalog_path(&self, c: &Catalog) -> PathBuf {
        self.catalogs_dir().join(format!("{}.json", c.key()))
    }

    /// Where mapping set `id` is stored.
    pub fn mapping_path(&self, s: &MappingSet) -> PathBuf {
        self.mappings_dir().join(format!("{}.json", s.id))
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn json_files(dir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        v.sort();
        v
    }

    /// The built-in library plus everything imported here. A stored file that no longer
    /// validates is reported on stderr and skipped, so one bad file does not hide the rest.
    pub fn library(&self) -> Result<Library> {
        let mut lib = Library::builtin()
            .map_err(|d| anyhow::anyhow!("built-in catalogs are invalid (a build defect):\n{d}"))?;
        let mut sets = Vec::new();
        for dir in [self.catalogs_dir(), self.mappings_dir()] {
            for p in Self::json_files(&dir) {
                let name = p.display().to_string();
                let src = match std::fs::read_to_string(&p) {
                    Ok(s) => s,
                    Err(e) => {
                        note(&format!("warning: skipping {name}: {e}"));
                        continue;
                    }
                };
                match parse_document(&name, &src, LoadOptions::default()) {
                    Ok(Document::Catalog(c)) => {
                        if let Err(e) = lib.add_catalog(c, Source::Imported(name.clone())) {
                            note(&format!("warning: skipping {name}: {e}"));
                        }
                    }
                    Ok(Document::MappingSet(s)) => sets.push((name, s)),
                    Err(d) => note(&format!("warning: skipping invalid stored file:\n{d}")),
                }
            }
        }
        for (name, s) in sets {
            if let Err(d) = lib.add_mapping_set(s, Source::Imported(name.clone())) {
                note(&format!("warning: skipping {name}:\n{d}"));
            }
        }
        Ok(lib)
    }

    /// Stores a catalog.
    pub fn write_catalog(&self, c: &Catalog) -> Result<PathBuf> {
        let p = self.catalog_path(c);
        write_atomic(&p, &aigov::to_json_string(&aigov::catalog_json(c)))?;
        Ok(p)
    }

    /// Stores a mapping set.
    pub fn write_mapping_set(&self, s: &MappingSet) -> Result<PathBuf> {
        let p = self.mapping_path(s);
        write_atomic(&p, &aigov::to_json_string(&aigov::mapping_set_json(s)))?;
        Ok(p)
    }
}

/// Writes `content` to `path` via a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, content: &str) -> Result<()> {
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
