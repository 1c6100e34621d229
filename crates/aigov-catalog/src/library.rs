//! A set of catalogs and mapping sets: the built-ins embedded in the binary plus whatever the
//! user imported. Answers lookups by `id[@version]` and by citation `id@version:ref`.

use std::collections::HashSet;
use std::fmt;

use crate::load::{Diagnostic, Diagnostics, Document, LoadOptions, parse_document};
use crate::model::*;

/// Where a catalog or mapping set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Embedded in the binary.
    Builtin,
    /// Imported by the user; the stored file.
    Imported(String),
}

impl Source {
    /// `builtin` or `imported`.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Imported(_) => "imported",
        }
    }
}

/// A parsed citation `id[@version]:ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cite {
    /// Catalog id.
    pub id: String,
    /// Version, when given.
    pub version: Option<String>,
    /// Item ref.
    pub r#ref: String,
}

impl Cite {
    /// Parses `id@version:ref` or `id:ref`. The ref is everything after the first `:` that
    /// follows the id and version, so refs may contain spaces (`GOVERN 1.1`) and colons.
    pub fn parse(s: &str) -> Result<Cite, String> {
        let (head, r) = s.split_once(':').ok_or_else(|| {
            format!("{s:?} is not a citation (expected <catalog>[@<version>]:<ref>, e.g. tc260-aisgf@1.0:3.1.1(a))")
        })?;
        let (id, version) = match head.split_once('@') {
            Some((id, v)) => {
                Version::parse(v)?;
                (id, Some(v.to_string()))
            }
            None => (head, None),
        };
        check_id(id)?;
        if r.is_empty() {
            return Err(format!("{s:?} has an empty ref"));
        }
        Ok(Cite {
            id: id.to_string(),
            version,
            r#ref: r.to_string(),
        })
    }
}

impl fmt::Display for Cite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{}:{}", self.id, v, self.r#ref),
            None => write!(f, "{}:{}", self.id, self.r#ref),
        }
    }
}

/// Errors of library operations.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// No such catalog.
    #[error("no catalog {0}; `aigov catalog list` shows what is available")]
    UnknownCatalog(String),
    /// No such item.
    #[error("catalog {catalog} has no item {item:?}")]
    UnknownItem {
        /// The catalog.
        catalog: String,
        /// The missing ref.
        item: String,
    },
    /// A catalog with this key is built in.
    #[error(
        "{0} is a built-in catalog and cannot be replaced; import it under another version or id"
    )]
    BuiltinConflict(String),
    /// Same key, different content.
    #[error("{0} is already imported with different content; pass --replace to overwrite it")]
    Exists(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Validation failed.
    #[error("{0}")]
    Diagnostics(#[from] Diagnostics),
}

/// Catalogs and mapping sets, each with its origin.
#[derive(Debug, Clone, Default)]
pub struct Library {
    catalogs: Vec<(Catalog, Source)>,
    sets: Vec<(MappingSet, Source)>,
}

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// The embedded built-in files: `(path relative to catalogs/, content)`.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    BUILTIN_FILES
}

impl Library {
    /// An empty library.
    pub fn new() -> Library {
        Library::default()
    }

    /// The built-in catalogs and mapping sets, validated with the strict built-in rules.
    pub fn builtin() -> Result<Library, Diagnostics> {
        let mut lib = Library::new();
        let mut diags = Vec::new();
        let mut sets = Vec::new();
        for (name, src) in BUILTIN_FILES {
            let file = format!("catalogs/{name}");
            match parse_document(&file, src, LoadOptions { strict: true }) {
                Ok(Document::Catalog(c)) => {
                    if lib.get_exact(&c.id, c.version.as_str()).is_some() {
                        diags.push(Diagnostic {
                            file,
                            line: None,
                            item: None,
                            code: "duplicate-catalog",
                            message: format!("{} is defined twice among the built-ins", c.key()),
                        });
                    } else {
                        lib.catalogs.push((c, Source::Builtin));
                    }
                }
                Ok(Document::MappingSet(s)) => sets.push(s),
                Err(d) => diags.extend(d.0),
            }
        }
        for s in sets {
            if let Err(d) = lib.add_mapping_set(s, Source::Builtin) {
                diags.extend(d.0);
            }
        }
        lib.sort();
        if diags.is_empty() {
            Ok(lib)
        } else {
            Err(Diagnostics(diags))
        }
    }

    fn sort(&mut self) {
        self.catalogs
            .sort_by(|(a, _), (b, _)| a.id.cmp(&b.id).then_with(|| a.version.cmp(&b.version)));
        self.sets.sort_by(|(a, _), (b, _)| a.id.cmp(&b.id));
    }

    /// Adds a catalog. Fails for a key that is built in; replaces an imported one.
    pub fn add_catalog(&mut self, c: Catalog, origin: Source) -> Result<(), LibraryError> {
        if let Some(pos) = self.position(&c.id, c.version.as_str()) {
            if self.catalogs[pos].1 == Source::Builtin {
                return Err(LibraryError::BuiltinConflict(c.key().to_string()));
            }
            self.catalogs[pos] = (c, origin);
        } else {
            self.catalogs.push((c, origin));
        }
        self.sort();
        Ok(())
    }

    /// Checks a mapping set's refs against the catalogs it names.
    pub fn check_mapping_set(&self, s: &MappingSet) -> Result<(), Diagnostics> {
        let mut diags = Vec::new();
        let file = if s.origin.file.is_empty() {
            s.id.clone()
        } else {
            s.origin.file.clone()
        };
        let mut push =
            |line: Option<u64>, item: Option<String>, code: &'static str, message: String| {
                diags.push(Diagnostic {
                    file: file.clone(),
                    line,
                    item,
                    code,
                    message,
                })
            };
        let subject = self.get_exact(&s.subject.id, &s.subject.version);
        if subject.is_none() {
            push(
                None,
                None,
                "unknown-catalog",
                format!("subject catalog {} is not loaded", s.subject),
            );
        }
        let object = match &s.object {
            MappingTarget::Catalog(k) => {
                let o = self.get_exact(&k.id, &k.version);
                if o.is_none() {
                    push(
                        None,
                        None,
                        "unknown-catalog",
                        format!("object catalog {k} is not loaded"),
                    );
                }
                o
            }
            MappingTarget::External(_) => None,
        };
        for (i, m) in s.mappings.iter().enumerate() {
            let row = Some(format!("{} -> {}", m.subject, m.object));
            if let Some(c) = subject
                && c.item(&m.subject).is_none()
            {
                push(
                    s.origin.line(i),
                    row.clone(),
                    "dangling-mapping",
                    format!("subject {:?} is not an item of {}", m.subject, c.key()),
                );
            }
            if let Some(c) = object
                && c.item(&m.object).is_none()
            {
                push(
                    s.origin.line(i),
                    row,
                    "dangling-mapping",
                    format!("object {:?} is not an item of {}", m.object, c.key()),
                );
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(diags))
        }
    }

    /// Adds a mapping set after checking its refs. Replaces a set with the same id unless
    /// that one is built in.
    pub fn add_mapping_set(&mut self, s: MappingSet, origin: Source) -> Result<(), Diagnostics> {
        self.check_mapping_set(&s)?;
        if let Some(pos) = self.sets.iter().position(|(x, _)| x.id == s.id) {
            if self.sets[pos].1 == Source::Builtin {
                return Err(Diagnostics(vec![Diagnostic {
                    file: s.origin.file.clone(),
                    line: None,
                    item: None,
                    code: "builtin-conflict",
                    message: format!(
                        "mapping set {} is built in and cannot be replaced; use another id",
                        s.id
                    ),
                }]));
            }
            self.sets[pos] = (s, origin);
        } else {
            self.sets.push((s, origin));
        }
        self.sort();
        Ok(())
    }

    fn position(&self, id: &str, version: &str) -> Option<usize> {
        self.catalogs
            .iter()
            .position(|(c, _)| c.id == id && c.version.as_str() == version)
    }

    /// All catalogs, sorted by id then version.
    pub fn catalogs(&self) -> impl Iterator<Item = &Catalog> {
        self.catalogs.iter().map(|(c, _)| c)
    }

    /// All catalogs with their origin.
    pub fn catalogs_with_origin(&self) -> impl Iterator<Item = (&Catalog, &Source)> {
        self.catalogs.iter().map(|(c, o)| (c, o))
    }

    /// All mapping sets, sorted by id.
    pub fn mapping_sets(&self) -> impl Iterator<Item = &MappingSet> {
        self.sets.iter().map(|(s, _)| s)
    }

    /// All mapping sets with their origin.
    pub fn mapping_sets_with_origin(&self) -> impl Iterator<Item = (&MappingSet, &Source)> {
        self.sets.iter().map(|(s, o)| (s, o))
    }

    /// The mapping set with this id.
    pub fn mapping_set(&self, id: &str) -> Option<&MappingSet> {
        self.mapping_sets().find(|s| s.id == id)
    }

    /// The catalog `id@version`.
    pub fn get_exact(&self, id: &str, version: &str) -> Option<&Catalog> {
        self.position(id, version).map(|i| &self.catalogs[i].0)
    }

    /// The origin of catalog `id@version`.
    pub fn origin(&self, key: &CatalogKey) -> Option<&Source> {
        self.position(&key.id, &key.version)
            .map(|i| &self.catalogs[i].1)
    }

    /// The catalog `id@version`, or the newest version of `id`.
    pub fn get(&self, id: &str, version: Option<&str>) -> Option<&Catalog> {
        match version {
            Some(v) => self.get_exact(id, v),
            None => self
                .catalogs()
                .filter(|c| c.id == id)
                .max_by(|a, b| a.version.cmp(&b.version)),
        }
    }

    /// Looks up `id` or `id@version`.
    pub fn resolve(&self, spec: &str) -> Result<&Catalog, LibraryError> {
        let (id, version) = match spec.split_once('@') {
            Some((i, v)) => (i, Some(v)),
            None => (spec, None),
        };
        self.get(id, version)
            .ok_or_else(|| LibraryError::UnknownCatalog(spec.to_string()))
    }

    /// Every version of `id`, oldest first.
    pub fn versions<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Catalog> + 'a {
        self.catalogs().filter(move |c| c.id == id)
    }

    /// Resolves a citation to its catalog and item.
    pub fn cite(&self, cite: &Cite) -> Result<(&Catalog, &Item), LibraryError> {
        let c = self.get(&cite.id, cite.version.as_deref()).ok_or_else(|| {
            LibraryError::UnknownCatalog(match &cite.version {
                Some(v) => format!("{}@{v}", cite.id),
                None => cite.id.clone(),
            })
        })?;
        let it = c
            .item(&cite.r#ref)
            .ok_or_else(|| LibraryError::UnknownItem {
                catalog: c.key().to_string(),
                item: cite.r#ref.clone(),
            })?;
        Ok((c, it))
    }

    /// Ids of all catalogs, each once.
    pub fn ids(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.catalogs()
            .map(|c| c.id.as_str())
            .filter(|i| seen.insert(*i))
            .collect()
    }
}
