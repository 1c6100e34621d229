//! Chat templates (Jinja) shipped with models: GGUF `tokenizer.chat_template` and
//! `chat_template` in Hugging Face tokenizer configs. Loaders render them, and a template that
//! reaches Python internals escapes the Jinja sandbox (llama-cpp-python CVE-2024-34359). This
//! looks for the constructs such escapes need; it does not render anything.

use super::details::{Details, TemplateInfo};
use super::finding::Severity;
use super::scope::Scope;

/// Constructs that only a sandbox escape needs.
const CRITICAL: &[&str] = &[
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__import__",
    "__base__",
    "__bases__",
    "__dict__",
    "__getattribute__",
    "__code__",
    "__init__",
    "__reduce__",
    "func_globals",
    "_TemplateReference__context",
    ".popen(",
    "os.system",
    "subprocess",
    "importlib",
    "\\x5f\\x5f",
    "\\u005f\\u005f",
    "\\137\\137",
];

/// Constructs unusual in chat formatting.
const SUSPICIOUS: &[&str] = &[
    "|attr(",
    "| attr(",
    "self.",
    "lipsum",
    "cycler",
    "joiner",
    "namespace.__",
    "{% import",
    "{%- import",
    "{% include",
    "{%- include",
    "{% extends",
    "{% from",
    "getattr",
    "globals",
    "eval(",
    "exec(",
    "'_'~",
    "\"_\"~",
    "|format(",
    "request.",
    "config.",
];

/// Checks one template and records it.
pub fn check(
    key: &str,
    text: &str,
    scope: &mut Scope<'_>,
    details: &mut Details,
    offset: Option<u64>,
) {
    details.templates.push(TemplateInfo {
        key: key.to_string(),
        length: text.chars().count(),
        text: text.chars().take(4000).collect(),
    });
    let mut crit = Vec::new();
    for p in CRITICAL {
        if let Some(at) = text.find(p) {
            crit.push((at, *p));
        }
    }
    if !crit.is_empty() {
        crit.sort();
        let list: Vec<&str> = crit.iter().map(|(_, p)| *p).collect();
        scope.report(
            "template.ssti",
            Severity::Critical,
            offset,
            format!(
                "chat template {key} reaches Python internals ({}), first at character {}",
                list.join(", "),
                text[..crit[0].0].chars().count()
            ),
            None,
        );
    }
    let mut sus: Vec<&str> = SUSPICIOUS
        .iter()
        .copied()
        .filter(|p| text.contains(p))
        .collect();
    if text.len() > 256 * 1024 {
        sus.push("a template longer than 256 KiB");
    }
    if !sus.is_empty() {
        scope.report(
            "template.suspicious",
            Severity::Medium,
            offset,
            format!(
                "chat template {key} uses constructs unusual in chat formatting: {}",
                sus.join(", ")
            ),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::globals::Allowlist;
    use crate::model::scope::Budgets;

    fn run(t: &str) -> Vec<String> {
        let b = Budgets::default();
        let a = Allowlist::default();
        let mut f = Vec::new();
        let mut dropped = 0;
        let mut spent = 0;
        let mut s = Scope {
            file: "m.gguf",
            member: None,
            budgets: &b,
            allow: &a,
            findings: &mut f,
            dropped: &mut dropped,
            spent: &mut spent,
            depth: 0,
            base: 0,
        };
        let mut d = Details::default();
        check("tokenizer.chat_template", t, &mut s, &mut d, None);
        f.into_iter().map(|x| x.rule).collect()
    }

    #[test]
    fn benign_and_malicious_templates() {
        let chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        assert!(run(chatml).is_empty());
        let evil = "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}{{ x()._module.__builtins__['__import__']('os').popen('id').read() }}{% endif %}{% endfor %}";
        assert_eq!(run(evil), vec!["template.ssti"]);
        assert_eq!(run("{{ foo|attr('x') }}"), vec!["template.suspicious"]);
    }
}
