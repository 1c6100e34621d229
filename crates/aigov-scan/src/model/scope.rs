//! What every model parser reports into: the file and member being scanned, the budgets, the
//! allowlist and the findings list.

use serde::{Deserialize, Serialize};

use super::finding::{Finding, Severity};
use super::globals::Allowlist;

/// Explicit limits for hostile input. Exceeding one is a finding, never a crash or a hang.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budgets {
    /// Pickle opcodes per pickle.
    pub max_pickle_ops: u64,
    /// Pickle stack depth.
    pub max_stack: usize,
    /// Pickle MARK depth.
    pub max_marks: usize,
    /// Approximate bytes of pickle memo values kept for analysis (every key is still
    /// tracked; values beyond the budget become "untracked").
    pub max_memo_bytes: usize,
    /// Bytes of one string read into memory (longer strings are skipped over).
    pub max_string: u64,
    /// Protocol-0 text lines.
    pub max_line: usize,
    /// Nesting of archives and embedded pickles.
    pub max_depth: u32,
    /// Members per archive.
    pub max_zip_entries: usize,
    /// Uncompressed/compressed ratio above which a member counts as a bomb.
    pub max_zip_ratio: u64,
    /// Uncompressed bytes of one member.
    pub max_member_bytes: u64,
    /// Uncompressed bytes read from all archives of one file.
    pub max_total_bytes: u64,
    /// safetensors header bytes.
    pub max_header: u64,
    /// JSON config files (Keras config, tokenizer config).
    pub max_json: u64,
    /// GGUF metadata entries.
    pub max_gguf_kv: u64,
    /// GGUF tensors.
    pub max_gguf_tensors: u64,
    /// GGUF string bytes.
    pub max_gguf_string: u64,
    /// GGUF array elements.
    pub max_gguf_array: u64,
    /// Bytes of an HDF5 file searched for the Keras config.
    pub hdf5_scan: u64,
    /// Findings per file (the rest are counted).
    pub max_findings: usize,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_pickle_ops: 1 << 32,
            max_stack: 1 << 20,
            max_marks: 1 << 16,
            max_memo_bytes: 16 << 20,
            max_string: 1 << 20,
            max_line: 1 << 16,
            max_depth: 6,
            max_zip_entries: 100_000,
            max_zip_ratio: 200,
            max_member_bytes: 64 << 30,
            max_total_bytes: 256 << 30,
            max_header: 100 << 20,
            max_json: 64 << 20,
            max_gguf_kv: 1 << 20,
            max_gguf_tensors: 1 << 20,
            max_gguf_string: 64 << 20,
            max_gguf_array: 1 << 26,
            hdf5_scan: 64 << 20,
            max_findings: 1000,
        }
    }
}

/// Where findings go, and the context they carry.
#[derive(Debug)]
pub struct Scope<'s> {
    /// The file on disk.
    pub file: &'s str,
    /// The member chain inside archives.
    pub member: Option<String>,
    /// Limits.
    pub budgets: &'s Budgets,
    /// Pickle globals allowlist.
    pub allow: &'s Allowlist,
    /// Findings so far.
    pub findings: &'s mut Vec<Finding>,
    /// Findings dropped because of [`Budgets::max_findings`].
    pub dropped: &'s mut u64,
    /// Uncompressed bytes read from archives of this file so far.
    pub spent: &'s mut u64,
    /// Nesting depth.
    pub depth: u32,
    /// Added to reported offsets (a stream embedded at this offset of its member).
    pub base: u64,
}

impl Scope<'_> {
    /// Records a finding.
    pub fn report(
        &mut self,
        rule: &str,
        severity: Severity,
        offset: Option<u64>,
        message: impl Into<String>,
        global: Option<(String, String)>,
    ) {
        if self.findings.len() >= self.budgets.max_findings {
            *self.dropped += 1;
            return;
        }
        self.findings.push(Finding {
            rule: rule.to_string(),
            severity,
            file: self.file.to_string(),
            member: self.member.clone(),
            offset: offset.map(|o| o + self.base),
            global,
            message: message.into(),
        });
    }

    /// A scope for a member (`name`) or an embedded stream one level down.
    pub fn child(&mut self, name: Option<&str>, base: u64) -> Scope<'_> {
        let member = match (name, &self.member) {
            (Some(n), Some(m)) => Some(format!("{m} > {n}")),
            (Some(n), None) => Some(n.to_string()),
            (None, m) => m.clone(),
        };
        Scope {
            file: self.file,
            member,
            budgets: self.budgets,
            allow: self.allow,
            findings: self.findings,
            dropped: self.dropped,
            spent: self.spent,
            depth: self.depth + 1,
            base,
        }
    }
}
