//! What a scan learns about a file besides its findings: tensors, metadata, chat templates,
//! archive members. The ML-BOM is built from these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tensors of a model file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSummary {
    /// Number of tensors.
    pub count: u64,
    /// Elements over all tensors (the parameter count of a weights file).
    pub parameters: u64,
    /// Bytes of tensor data.
    pub bytes: u64,
    /// Tensors per dtype.
    pub dtypes: BTreeMap<String, u64>,
}

impl TensorSummary {
    /// Adds one tensor.
    pub fn add(&mut self, dtype: &str, elements: u64, bytes: u64) {
        self.count += 1;
        self.parameters = self.parameters.saturating_add(elements);
        self.bytes = self.bytes.saturating_add(bytes);
        *self.dtypes.entry(dtype.to_string()).or_default() += 1;
    }
}

/// A chat template found in a model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// Where it was found (`tokenizer.chat_template`, `chat_template`).
    pub key: String,
    /// Characters.
    pub length: usize,
    /// The template, cut to 4,000 characters.
    pub text: String,
}

/// A member of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Name (nested members joined with ` > `).
    pub name: String,
    /// Format by content.
    pub format: String,
    /// Uncompressed size.
    pub size: u64,
}

/// A global imported by a pickle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalInfo {
    /// Module.
    pub module: String,
    /// Name.
    pub name: String,
    /// Imports.
    pub count: u64,
    /// Severity, when not allowed.
    pub severity: Option<super::finding::Severity>,
}

/// Pickle streams of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickleSummary {
    /// Pickles analysed.
    pub pickles: u64,
    /// Highest protocol seen.
    pub protocol: Option<u8>,
    /// Opcodes analysed.
    pub opcodes: u64,
    /// Globals, merged over all pickles.
    pub globals: Vec<GlobalInfo>,
}

impl PickleSummary {
    /// Adds one analysed pickle.
    pub fn add(&mut self, p: &super::pickle::PickleInfo) {
        self.pickles += 1;
        self.protocol = self.protocol.max(p.protocol);
        self.opcodes += p.opcodes;
        for g in &p.globals {
            match self
                .globals
                .iter_mut()
                .find(|x| x.module == g.module && x.name == g.name)
            {
                Some(x) => x.count += g.count,
                None => {
                    if self.globals.len() < 500 {
                        self.globals.push(GlobalInfo {
                            module: g.module.clone(),
                            name: g.name.clone(),
                            count: g.count,
                            severity: g.severity,
                        })
                    }
                }
            }
        }
    }
}

/// Everything learnt about a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// Pickles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickle: Option<PickleSummary>,
    /// Tensors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensors: Option<TensorSummary>,
    /// Format metadata: GGUF `general.*`, safetensors `__metadata__`, ONNX producer, Keras
    /// version …
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Chat templates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateInfo>,
    /// Archive members (up to 1,000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberInfo>,
    /// Archive members not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub members_more: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Details {
    /// The tensor summary, created on first use.
    pub fn tensors(&mut self) -> &mut TensorSummary {
        self.tensors.get_or_insert_with(TensorSummary::default)
    }

    /// The pickle summary, created on first use.
    pub fn pickle(&mut self) -> &mut PickleSummary {
        self.pickle.get_or_insert_with(PickleSummary::default)
    }

    /// Records metadata, keeping values short.
    pub fn meta(&mut self, k: impl Into<String>, v: impl AsRef<str>) {
        if self.metadata.len() >= 200 {
            return;
        }
        let v: String = v.as_ref().chars().take(500).collect();
        self.metadata.insert(k.into(), v);
    }

    /// Records an archive member.
    pub fn member(&mut self, name: String, format: &str, size: u64) {
        if self.members.len() < 1000 {
            self.members.push(MemberInfo {
                name,
                format: format.to_string(),
                size,
            });
        } else {
            self.members_more += 1;
        }
    }
}
