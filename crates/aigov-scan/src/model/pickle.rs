//! A streaming pickle opcode machine that models the stack and the memo and never executes.
//!
//! It reads protocols 0–5 one opcode at a time, keeping small values (strings, numbers,
//! globals, the first items of containers) and only the shape of big ones, so memory stays
//! constant however large the pickle is. What it reports:
//! - every global imported by `GLOBAL`, `INST` and `STACK_GLOBAL`, judged by the allowlist —
//!   `STACK_GLOBAL` operands are taken from the modelled stack, so strings fetched from the memo
//!   (`BINGET`) or built any other way are resolved; operands it cannot know are themselves a
//!   critical finding;
//! - calls of values computed inside the pickle (`REDUCE`, `NEWOBJ`, `OBJ`, `INST` on
//!   something that is not a plain global: getattr chains);
//! - extension-registry opcodes, persistent ids, malformed or truncated streams, budgets;
//! - pickles embedded in `bytes` values (scanned recursively);
//! - joblib's arrays written between opcodes after a `NumpyArrayWrapper` (skipped by size, or
//!   scanned as a nested pickle for object arrays).

use std::collections::HashMap;
use std::io;
use std::rc::Rc;

use super::finding::Severity;
use super::globals::Verdict;
use super::io::Input;
use super::scope::Scope;

/// The items kept of each container (the rest are counted, not stored).
const KEEP: usize = 32;

/// `torch.save`'s legacy magic number 0x1950a86a20f9469cfc6c, as LONG1 bytes (little endian).
const TORCH_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

#[derive(Debug, Clone, Default)]
struct Seq {
    items: Vec<V>,
    len: u64,
}

impl Seq {
    fn from(items: Vec<V>) -> Seq {
        let len = items.len() as u64;
        let mut items = items;
        items.truncate(KEEP);
        Seq { items, len }
    }

    fn push(&mut self, v: V) {
        if self.items.len() < KEEP {
            self.items.push(v);
        }
        self.len += 1;
    }

    fn complete(&self) -> bool {
        self.items.len() as u64 == self.len
    }
}

#[derive(Debug, Clone)]
struct Obj {
    callable: V,
    args: V,
    state: Option<V>,
}

/// A modelled value.
#[derive(Debug, Clone, Default)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    TorchMagic,
    Float,
    Str(Rc<str>),
    LongStr(u64),
    Bytes(u64),
    Tuple(Rc<Seq>),
    List(Rc<Seq>),
    Dict(Rc<Seq>),
    Set,
    Global(Rc<(String, String)>),
    Obj(Rc<Obj>),
    Pers,
    Buffer,
    #[default]
    Unknown,
}

impl V {
    fn describe(&self, depth: u32) -> String {
        if depth > 3 {
            return "…".into();
        }
        match self {
            V::None => "None".into(),
            V::Bool(b) => if *b { "True" } else { "False" }.into(),
            V::Int(i) => i.to_string(),
            V::BigInt | V::TorchMagic => "<int>".into(),
            V::Float => "<float>".into(),
            V::Str(s) => {
                let t: String = s.chars().take(40).collect();
                format!("{t:?}")
            }
            V::LongStr(n) => format!("<str of {n} bytes>"),
            V::Bytes(n) => format!("<bytes of {n}>"),
            V::Tuple(s) | V::List(s) => {
                let inner: Vec<String> = s
                    .items
                    .iter()
                    .take(4)
                    .map(|v| v.describe(depth + 1))
                    .collect();
                let more = if s.len > 4 { ", …" } else { "" };
                format!("({}{more})", inner.join(", "))
            }
            V::Dict(_) => "{…}".into(),
            V::Set => "{…}".into(),
            V::Global(g) => format!("{}.{}", g.0, g.1),
            V::Obj(o) => format!(
                "{}{}",
                o.callable.describe(depth + 1),
                match &o.args {
                    V::Tuple(_) => o.args.describe(depth + 1),
                    other => format!("({})", other.describe(depth + 1)),
                }
            ),
            V::Pers => "<persistent id>".into(),
            V::Buffer => "<buffer>".into(),
            V::Unknown => "<untracked value>".into(),
        }
    }
}

/// Why the machine stopped early.
#[derive(Debug)]
enum Stop {
    Eof,
    Malformed(String),
    Budget(String),
    Io(io::Error),
    /// Joblib array data that could not be sized: the opcode stream cannot be followed.
    Joblib(String),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Stop::Eof,
            io::ErrorKind::InvalidData => Stop::Malformed(e.to_string()),
            _ => Stop::Io(e),
        }
    }
}

type R<T> = Result<T, Stop>;

/// One global seen in a pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalUse {
    /// Module.
    pub module: String,
    /// Name.
    pub name: String,
    /// Times imported.
    pub count: u64,
    /// Offset of the first import.
    pub offset: u64,
    /// Whether it was called (REDUCE, NEWOBJ, OBJ, INST).
    pub called: bool,
    /// The verdict.
    pub severity: Option<Severity>,
}

/// What a pickle contained.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PickleInfo {
    /// Declared protocol (None for protocol 0/1, which have no PROTO opcode).
    pub protocol: Option<u8>,
    /// Opcodes executed by the model.
    pub opcodes: u64,
    /// Globals, in order of first appearance.
    pub globals: Vec<GlobalUse>,
    /// Whether STOP was reached.
    pub complete: bool,
    /// Persistent ids loaded.
    pub persistent_ids: u64,
    /// joblib arrays skipped.
    pub joblib_arrays: u64,
    /// The result is PyTorch's legacy magic number.
    pub torch_magic: bool,
}

#[derive(Default)]
struct Memo {
    /// Keys defined, as a bitset for small keys.
    bits: Vec<u64>,
    big: std::collections::HashSet<u64>,
    values: HashMap<u64, V>,
    /// Approximate bytes held by `values`.
    cost: usize,
    len: u64,
}

const BITSET_KEYS: u64 = 1 << 24;

impl Memo {
    fn define(&mut self, k: u64) {
        if k < BITSET_KEYS {
            let w = (k / 64) as usize;
            if self.bits.len() <= w {
                self.bits.resize(w + 1, 0);
            }
            self.bits[w] |= 1 << (k % 64);
        } else {
            self.big.insert(k);
        }
        self.len = self.len.max(k + 1);
    }

    fn defined(&self, k: u64) -> bool {
        if k < BITSET_KEYS {
            self.bits
                .get((k / 64) as usize)
                .is_some_and(|w| w & (1 << (k % 64)) != 0)
        } else {
            self.big.contains(&k)
        }
    }
}

struct Vm<'a, 'b, 's> {
    input: &'a mut Input<'b>,
    scope: &'a mut Scope<'s>,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: Memo,
    info: PickleInfo,
    globals: HashMap<(String, String), usize>,
    computed_calls: u32,
}

fn utf8(b: Vec<u8>) -> R<String> {
    String::from_utf8(b).map_err(|_| Stop::Malformed("invalid UTF-8 in a text opcode".into()))
}

impl Vm<'_, '_, '_> {
    fn pop(&mut self) -> R<V> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(Stop::Malformed("stack underflow".into()));
        }
        Ok(self.stack.pop().unwrap_or_default())
    }

    fn top(&mut self) -> R<&mut V> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(Stop::Malformed("stack underflow".into()));
        }
        self.stack
            .last_mut()
            .ok_or_else(|| Stop::Malformed("stack underflow".into()))
    }

    fn push(&mut self, v: V) -> R<()> {
        if self.stack.len() >= self.scope.budgets.max_stack {
            return Err(Stop::Budget(format!(
                "stack deeper than {} values",
                self.scope.budgets.max_stack
            )));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop_mark(&mut self) -> R<Vec<V>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| Stop::Malformed("no MARK on the stack".into()))?;
        Ok(self.stack.split_off(m.min(self.stack.len())))
    }

    fn memo_put(&mut self, key: u64) -> R<()> {
        let v = self.top()?.clone();
        self.memo.define(key);
        // Globals, short strings (STACK_GLOBAL operands) and objects (dtypes reused by joblib)
        // are kept within a byte budget; containers are not (a 2M-tuple list would otherwise
        // keep every tuple alive).
        let cost = match &v {
            V::Global(g) => 64 + g.0.len() + g.1.len(),
            V::Str(s) if s.len() <= 256 => 48 + s.len(),
            V::Obj(_) => 160,
            V::Int(_) | V::None | V::Bool(_) => 40,
            _ => 0,
        };
        let old = if cost > 0 && self.memo.cost + cost <= self.scope.budgets.max_memo_bytes {
            self.memo.cost += cost;
            self.memo.values.insert(key, v)
        } else {
            self.memo.values.remove(&key)
        };
        if old.is_some() {
            // Re-PUT of a key: the old value's cost stays counted (a bound, not an exact sum).
        }
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> R<()> {
        if !self.memo.defined(key) {
            return Err(Stop::Malformed(format!("memo key {key} is not defined")));
        }
        let v = self.memo.values.get(&key).cloned().unwrap_or(V::Unknown);
        self.push(v)
    }

    fn decimal_line(&mut self) -> R<u64> {
        let l = utf8(self.input.line(64)?)?;
        l.trim()
            .parse::<u64>()
            .map_err(|_| Stop::Malformed(format!("invalid decimal {l:?}")))
    }

    /// Records an import and reports it once per `(module, name)`.
    fn global(&mut self, module: String, name: String, offset: u64) -> V {
        let key = (module, name);
        if let Some(&i) = self.globals.get(&key) {
            self.info.globals[i].count += 1;
        } else {
            let verdict = self.scope.allow.classify(&key.0, &key.1);
            let severity = match verdict {
                Verdict::Allowed => None,
                Verdict::Flag(s, _) => Some(s),
            };
            self.globals.insert(key.clone(), self.info.globals.len());
            self.info.globals.push(GlobalUse {
                module: key.0.clone(),
                name: key.1.clone(),
                count: 1,
                offset,
                called: false,
                severity,
            });
        }
        V::Global(Rc::new(key))
    }

    /// Models a call of `callable` with `args` at `offset`.
    fn call(&mut self, callable: V, args: V, offset: u64, how: &str) -> V {
        match &callable {
            V::Global(g) => {
                if let Some(&i) = self.globals.get(&(g.0.clone(), g.1.clone())) {
                    self.info.globals[i].called = true;
                }
            }
            _ => {
                if self.computed_calls < 20 {
                    let what = callable.describe(0);
                    self.scope.report(
                        "pickle.call-computed",
                        Severity::High,
                        Some(offset),
                        format!("{how} calls a value computed inside the pickle: {what}"),
                        None,
                    );
                }
                self.computed_calls += 1;
            }
        }
        V::Obj(Rc::new(Obj {
            callable,
            args,
            state: None,
        }))
    }

    fn string(&mut self, n: u64) -> R<V> {
        if n > self.scope.budgets.max_string {
            self.input.skip(n)?;
            return Ok(V::LongStr(n));
        }
        let b = self.input.take_vec(n, self.scope.budgets.max_string)?;
        Ok(V::Str(Rc::from(utf8(b)?.as_str())))
    }

    fn bytes(&mut self, n: u64, offset: u64) -> R<V> {
        // A pickle embedded in bytes is scanned where it lies.
        if n >= 4 {
            let mut head = [0u8; 2];
            self.input.read_exact(&mut head)?;
            self.input.unread(&head);
            if head[0] == 0x80 && (2..=5).contains(&head[1]) {
                if self.scope.depth >= self.scope.budgets.max_depth {
                    self.scope.report(
                        "pickle.budget",
                        Severity::Medium,
                        Some(offset),
                        "a pickle embedded in bytes is nested too deep to scan",
                        None,
                    );
                } else {
                    self.input.push_limit(n);
                    let name = format!("bytes@{offset}");
                    let base = self.scope.base;
                    let mut child = self.scope.child(Some(&name), base);
                    scan_pickles_inner(&mut *self.input, &mut child, false);
                    self.input.pop_limit()?;
                    return Ok(V::Bytes(n));
                }
            }
        }
        self.input.skip(n)?;
        Ok(V::Bytes(n))
    }

    fn run(&mut self) -> R<()> {
        loop {
            let offset = self.input.pos();
            let Some(op) = self.input.next_byte()? else {
                return Err(Stop::Eof);
            };
            self.info.opcodes += 1;
            if self.info.opcodes > self.scope.budgets.max_pickle_ops {
                return Err(Stop::Budget(format!(
                    "more than {} opcodes",
                    self.scope.budgets.max_pickle_ops
                )));
            }
            match op {
                b'.' => {
                    if let Ok(V::TorchMagic) = self.pop() {
                        self.info.torch_magic = true;
                    }
                    self.info.complete = true;
                    return Ok(());
                }
                0x80 => {
                    let p = self.input.u8()?;
                    self.info.protocol = Some(p);
                    if p > 5 {
                        self.scope.report(
                            "pickle.protocol",
                            Severity::Low,
                            Some(offset),
                            format!("unknown pickle protocol {p}"),
                            None,
                        );
                    }
                }
                0x95 => {
                    let n = self.input.u64_le()?;
                    if let Some(r) = self.input.remaining()
                        && n > r
                    {
                        return Err(Stop::Malformed(format!(
                            "FRAME of {n} bytes is longer than the rest of the stream"
                        )));
                    }
                }
                b'(' => {
                    if self.marks.len() >= self.scope.budgets.max_marks {
                        return Err(Stop::Budget("too many nested MARKs".into()));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() > floor {
                        self.stack.pop();
                    } else if !self.marks.is_empty() {
                        self.pop_mark()?;
                    } else {
                        return Err(Stop::Malformed("POP on an empty stack".into()));
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                b'N' => self.push(V::None)?,
                0x88 => self.push(V::Bool(true))?,
                0x89 => self.push(V::Bool(false))?,
                b'I' => {
                    let l = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let v = match l.trim() {
                        "00" => V::Bool(false),
                        "01" => V::Bool(true),
                        t => match t.parse::<i64>() {
                            Ok(i) => V::Int(i),
                            Err(_)
                                if t.chars().all(|c| c.is_ascii_digit() || c == '-')
                                    && !t.is_empty() =>
                            {
                                V::BigInt
                            }
                            Err(_) => return Err(Stop::Malformed(format!("invalid INT {t:?}"))),
                        },
                    };
                    self.push(v)?;
                }
                b'J' => {
                    let v = self.input.u32_le()? as i32;
                    self.push(V::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.input.u8()?;
                    self.push(V::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = self.input.u16_le()?;
                    self.push(V::Int(i64::from(v)))?;
                }
                b'L' => {
                    let l = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let t = l.trim().trim_end_matches('L');
                    let v = match t.parse::<i64>() {
                        Ok(i) => V::Int(i),
                        Err(_)
                            if !t.is_empty()
                                && t.trim_start_matches('-')
                                    .chars()
                                    .all(|c| c.is_ascii_digit()) =>
                        {
                            V::BigInt
                        }
                        Err(_) => return Err(Stop::Malformed(format!("invalid LONG {t:?}"))),
                    };
                    self.push(v)?;
                }
                0x8a => {
                    let n = self.input.u8()? as usize;
                    let mut b = vec![0u8; n];
                    self.input.read_exact(&mut b)?;
                    let v = if b == TORCH_MAGIC {
                        V::TorchMagic
                    } else if n <= 8 {
                        let mut w = if b.last().is_some_and(|x| x & 0x80 != 0) {
                            [0xffu8; 8]
                        } else {
                            [0u8; 8]
                        };
                        w[..n].copy_from_slice(&b);
                        V::Int(i64::from_le_bytes(w))
                    } else {
                        V::BigInt
                    };
                    self.push(v)?;
                }
                0x8b => {
                    let n = self.input.u32_le()? as i32;
                    if n < 0 {
                        return Err(Stop::Malformed("LONG4 with a negative length".into()));
                    }
                    self.input.skip(n as u64)?;
                    self.push(V::BigInt)?;
                }
                b'F' => {
                    self.input.line(self.scope.budgets.max_line)?;
                    self.push(V::Float)?;
                }
                b'G' => {
                    self.input.skip(8)?;
                    self.push(V::Float)?;
                }
                b'S' => {
                    let l = self.input.line(self.scope.budgets.max_line)?;
                    let t = String::from_utf8_lossy(&l);
                    let t = t.trim();
                    let ok = t.len() >= 2
                        && ((t.starts_with('\'') && t.ends_with('\''))
                            || (t.starts_with('"') && t.ends_with('"')));
                    if !ok {
                        return Err(Stop::Malformed("STRING is not quoted".into()));
                    }
                    self.push(V::Str(Rc::from(&t[1..t.len() - 1])))?;
                }
                b'T' => {
                    let n = self.input.u32_le()? as i32;
                    if n < 0 {
                        return Err(Stop::Malformed("BINSTRING with a negative length".into()));
                    }
                    let v = self.latin1(n as u64)?;
                    self.push(v)?;
                }
                b'U' => {
                    let n = u64::from(self.input.u8()?);
                    let v = self.latin1(n)?;
                    self.push(v)?;
                }
                b'V' => {
                    let l = self.input.line(self.scope.budgets.max_line)?;
                    self.push(V::Str(Rc::from(String::from_utf8_lossy(&l).as_ref())))?;
                }
                b'X' => {
                    let n = u64::from(self.input.u32_le()?);
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                0x8c => {
                    let n = u64::from(self.input.u8()?);
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                0x8d => {
                    let n = self.input.u64_le()?;
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                b'B' => {
                    let n = u64::from(self.input.u32_le()?);
                    let v = self.bytes(n, offset)?;
                    self.push(v)?;
                }
                b'C' => {
                    let n = u64::from(self.input.u8()?);
                    let v = self.bytes(n, offset)?;
                    self.push(v)?;
                }
                0x8e | 0x96 => {
                    let n = self.input.u64_le()?;
                    let v = self.bytes(n, offset)?;
                    self.push(v)?;
                }
                0x97 => self.push(V::Buffer)?,
                0x98 => {
                    self.top()?;
                }
                b')' => self.push(V::Tuple(Rc::new(Seq::default())))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(V::Tuple(Rc::new(Seq::from(items))))?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(V::Tuple(Rc::new(Seq::from(items))))?;
                }
                b']' => self.push(V::List(Rc::new(Seq::default())))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(V::List(Rc::new(Seq::from(items))))?;
                }
                b'a' => {
                    let v = self.pop()?;
                    if let V::List(s) = self.top()? {
                        Rc::make_mut(s).push(v);
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let top = self.top()?;
                    if let V::List(s) = top {
                        let s = Rc::make_mut(s);
                        for v in items {
                            s.push(v);
                        }
                    }
                }
                b'}' => self.push(V::Dict(Rc::new(Seq::default())))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(Stop::Malformed("DICT with an odd number of items".into()));
                    }
                    self.push(V::Dict(Rc::new(Seq::from(items))))?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    if let V::Dict(s) = self.top()? {
                        let s = Rc::make_mut(s);
                        s.push(k);
                        s.push(v);
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(Stop::Malformed(
                            "SETITEMS with an odd number of items".into(),
                        ));
                    }
                    if let V::Dict(s) = self.top()? {
                        let s = Rc::make_mut(s);
                        for v in items {
                            s.push(v);
                        }
                    }
                }
                0x8f => self.push(V::Set)?,
                0x90 => {
                    self.pop_mark()?;
                    self.top()?;
                }
                0x91 => {
                    self.pop_mark()?;
                    self.push(V::Set)?;
                }
                b'g' => {
                    let k = self.decimal_line()?;
                    self.memo_get(k)?;
                }
                b'h' => {
                    let k = u64::from(self.input.u8()?);
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = u64::from(self.input.u32_le()?);
                    self.memo_get(k)?;
                }
                b'p' => {
                    let k = self.decimal_line()?;
                    self.memo_put(k)?;
                }
                b'q' => {
                    let k = u64::from(self.input.u8()?);
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = u64::from(self.input.u32_le()?);
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len;
                    self.memo_put(k)?;
                }
                b'c' => {
                    let module = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let name = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let g = self.global(module, name, offset);
                    self.push(g)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (V::Str(m), V::Str(n)) => {
                            let g = self.global(m.to_string(), n.to_string(), offset);
                            self.push(g)?;
                        }
                        _ => {
                            self.scope.report(
                                "pickle.global.unresolved",
                                Severity::Critical,
                                Some(offset),
                                format!(
                                    "STACK_GLOBAL on values the scanner cannot resolve to strings: module {}, name {}",
                                    module.describe(0),
                                    name.describe(0)
                                ),
                                None,
                            );
                            self.push(V::Unknown)?;
                        }
                    }
                }
                b'i' => {
                    let module = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let name = utf8(self.input.line(self.scope.budgets.max_line)?)?;
                    let args = self.pop_mark()?;
                    let g = self.global(module, name, offset);
                    let o = self.call(g, V::Tuple(Rc::new(Seq::from(args))), offset, "INST");
                    self.push(o)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(Stop::Malformed("OBJ without a class".into()));
                    }
                    let cls = items.remove(0);
                    let o = self.call(cls, V::Tuple(Rc::new(Seq::from(items))), offset, "OBJ");
                    self.push(o)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let o = self.call(f, args, offset, "REDUCE");
                    self.push(o)?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let o = self.call(cls, args, offset, "NEWOBJ");
                    self.push(o)?;
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let o = self.call(cls, args, offset, "NEWOBJ_EX");
                    self.push(o)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let top = self.top()?;
                    let mut joblib = None;
                    if let V::Obj(o) = top {
                        let new = Rc::new(Obj {
                            callable: o.callable.clone(),
                            args: o.args.clone(),
                            state: Some(state),
                        });
                        if is_joblib_wrapper(&new) {
                            joblib = Some(new.clone());
                        }
                        *top = V::Obj(new);
                    }
                    if let Some(w) = joblib {
                        self.joblib_array(&w, offset)?;
                    }
                }
                b'P' => {
                    self.input.line(self.scope.budgets.max_line)?;
                    self.info.persistent_ids += 1;
                    self.push(V::Pers)?;
                }
                b'Q' => {
                    self.pop()?;
                    self.info.persistent_ids += 1;
                    self.push(V::Pers)?;
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => u64::from(self.input.u8()?),
                        0x83 => u64::from(self.input.u16_le()?),
                        _ => u64::from(self.input.u32_le()?),
                    };
                    self.scope.report(
                        "pickle.extension",
                        Severity::Medium,
                        Some(offset),
                        format!(
                            "extension-registry code {code} names a global the scanner cannot see"
                        ),
                        None,
                    );
                    self.push(V::Unknown)?;
                }
                other => {
                    return Err(Stop::Malformed(format!(
                        "unknown opcode 0x{other:02x} at offset {offset}"
                    )));
                }
            }
        }
    }

    fn latin1(&mut self, n: u64) -> R<V> {
        if n > self.scope.budgets.max_string {
            self.input.skip(n)?;
            return Ok(V::LongStr(n));
        }
        let b = self.input.take_vec(n, self.scope.budgets.max_string)?;
        Ok(V::Str(Rc::from(
            b.iter().map(|&c| c as char).collect::<String>().as_str(),
        )))
    }

    /// After the BUILD of a joblib `NumpyArrayWrapper`, the array's bytes follow in the stream.
    fn joblib_array(&mut self, w: &Obj, offset: u64) -> R<()> {
        let state = match &w.state {
            Some(V::Dict(d)) => d.clone(),
            _ => return Err(Stop::Joblib("the wrapper's state is not a dict".into())),
        };
        if !state.complete() {
            return Err(Stop::Joblib("the wrapper's state is too large".into()));
        }
        let get = |k: &str| {
            state
                .items
                .chunks(2)
                .find(|kv| matches!(&kv[0], V::Str(s) if &**s == k))
                .map(|kv| kv.get(1).cloned().unwrap_or_default())
        };
        let dtype = get("dtype").ok_or_else(|| Stop::Joblib("no dtype".into()))?;
        let (itemsize, hasobject) = dtype_size(&dtype)
            .ok_or_else(|| Stop::Joblib(format!("unknown dtype {}", dtype.describe(0))))?;
        self.info.joblib_arrays += 1;
        if hasobject {
            // Object arrays are written as a nested pickle.
            let start = self.input.pos();
            let base = self.scope.base;
            let mut child = self
                .scope
                .child(Some(&format!("joblib-array@{start}")), base);
            scan_pickles_inner(&mut *self.input, &mut child, true);
            return Ok(());
        }
        let count = match get("shape") {
            Some(V::Tuple(s)) if s.complete() => {
                let mut c: u64 = 1;
                for d in &s.items {
                    match d {
                        V::Int(i) if *i >= 0 => {
                            c = c
                                .checked_mul(*i as u64)
                                .ok_or_else(|| Stop::Joblib("array size overflows".into()))?;
                        }
                        _ => return Err(Stop::Joblib("shape is not a tuple of integers".into())),
                    }
                }
                c
            }
            _ => return Err(Stop::Joblib("no usable shape".into())),
        };
        let aligned = matches!(get("numpy_array_alignment_bytes"), Some(V::Int(_)));
        if aligned {
            let pad = self.input.u8()?;
            self.input.skip(u64::from(pad))?;
        }
        let n = count
            .checked_mul(itemsize)
            .ok_or_else(|| Stop::Joblib("array size overflows".into()))?;
        self.scope.report(
            "joblib.array",
            Severity::Info,
            Some(offset),
            format!("joblib array of {count} elements ({n} bytes) skipped"),
            None,
        );
        self.input.skip(n)?;
        Ok(())
    }
}

fn is_joblib_wrapper(o: &Obj) -> bool {
    let cls = match &o.callable {
        V::Global(g) if g.1 == "_reconstructor" => match &o.args {
            V::Tuple(t) => t.items.first().cloned().unwrap_or_default(),
            _ => V::Unknown,
        },
        other => other.clone(),
    };
    matches!(&cls, V::Global(g) if g.1 == "NumpyArrayWrapper" && g.0.ends_with("numpy_pickle"))
}

/// Item size and whether the dtype holds objects, from a modelled `numpy.dtype(...)` value.
fn dtype_size(v: &V) -> Option<(u64, bool)> {
    let V::Obj(o) = v else { return None };
    let V::Tuple(args) = &o.args else { return None };
    let V::Str(desc) = args.items.first()? else {
        return None;
    };
    let flags_obj = match &o.state {
        Some(V::Tuple(t)) => matches!(t.items.get(7), Some(V::Int(f)) if f & 1 != 0),
        _ => false,
    };
    let d = desc.trim_start_matches(['<', '>', '|', '=']);
    let kind = d.chars().next()?;
    if kind == 'O' {
        return Some((8, true));
    }
    let num: String = d.chars().skip(1).take_while(char::is_ascii_digit).collect();
    let n: u64 = if num.is_empty() {
        match kind {
            '?' | 'b' | 'B' => 1,
            'h' | 'H' | 'e' => 2,
            'i' | 'I' | 'f' | 'l' | 'L' => 4,
            'q' | 'Q' | 'd' | 'g' | 'F' => 8,
            'D' => 16,
            _ => return None,
        }
    } else {
        num.parse().ok()?
    };
    let size = match kind {
        'U' => n.checked_mul(4)?,
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' | 'a' => n,
        _ if num.is_empty() => n,
        _ => return None,
    };
    Some((size, flags_obj))
}

/// Scans every pickle in `input` (a file may hold several: legacy PyTorch writes five).
pub fn scan_pickles(input: &mut Input<'_>, scope: &mut Scope<'_>) -> Vec<PickleInfo> {
    scan_pickles_inner(input, scope, false)
}

fn scan_pickles_inner(
    input: &mut Input<'_>,
    scope: &mut Scope<'_>,
    single: bool,
) -> Vec<PickleInfo> {
    let mut out: Vec<PickleInfo> = Vec::new();
    loop {
        let start = input.pos();
        let info = scan_one(input, scope);
        let complete = info.complete;
        out.push(info);
        if !complete || single {
            break;
        }
        if out.len() == 1 && out[0].torch_magic {
            // Legacy PyTorch: magic, protocol version, system info, the model, storage keys;
            // raw storages follow and are not pickles.
            for _ in 0..4 {
                let i = scan_one(input, scope);
                let c = i.complete;
                out.push(i);
                if !c {
                    break;
                }
            }
            if out.len() == 5 && out.iter().all(|i| i.complete) {
                scope.report(
                    "torch.legacy",
                    Severity::Info,
                    Some(start),
                    "legacy PyTorch file: five pickles, then tensor storages (not read)",
                    None,
                );
            }
            break;
        }
        let mut head = [0u8; 2];
        let at = input.pos();
        match input.read(&mut head) {
            Ok(0) | Err(_) => break,
            Ok(1) => {
                input.unread(&head[..1]);
                scope.report(
                    "pickle.trailing-data",
                    Severity::Info,
                    Some(at),
                    "1 byte follows the pickle",
                    None,
                );
                break;
            }
            Ok(_) => {
                input.unread(&head);
                if head[0] == 0x80 && (2..=5).contains(&head[1]) {
                    continue;
                }
                let left = input
                    .remaining()
                    .map_or_else(|| "data".to_string(), |r| format!("{r} bytes"));
                scope.report(
                    "pickle.trailing-data",
                    Severity::Info,
                    Some(at),
                    format!("{left} follow the pickle and are not a pickle"),
                    None,
                );
                break;
            }
        }
    }
    out
}

/// Runs one pickle to STOP (or to an error) and reports what it found.
fn scan_one(input: &mut Input<'_>, scope: &mut Scope<'_>) -> PickleInfo {
    let mut vm = Vm {
        input,
        scope,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Memo::default(),
        info: PickleInfo::default(),
        globals: HashMap::new(),
        computed_calls: 0,
    };
    let r = vm.run();
    let at = vm.input.pos();
    match r {
        Ok(()) => {}
        Err(Stop::Eof) => vm.scope.report(
            "pickle.malformed",
            Severity::Medium,
            Some(at),
            format!("the pickle ends before STOP (truncated after {} opcodes)", vm.info.opcodes),
            None,
        ),
        Err(Stop::Malformed(m)) => vm.scope.report(
            "pickle.malformed",
            Severity::Medium,
            Some(at),
            format!("malformed pickle: {m}"),
            None,
        ),
        Err(Stop::Budget(m)) => vm.scope.report(
            "pickle.budget",
            Severity::Medium,
            Some(at),
            format!("analysis stopped: {m}"),
            None,
        ),
        Err(Stop::Io(e)) => vm.scope.report(
            "scan.io",
            Severity::Medium,
            Some(at),
            format!("read error: {e}"),
            None,
        ),
        Err(Stop::Joblib(m)) => vm.scope.report(
            "joblib.unparsed-array",
            Severity::Medium,
            Some(at),
            format!("joblib array data could not be skipped ({m}); the rest of the pickle was not analysed"),
            None,
        ),
    }
    if vm.computed_calls > 20 {
        let n = vm.computed_calls - 20;
        vm.scope.report(
            "pickle.call-computed",
            Severity::High,
            None,
            format!("{n} more calls of computed values"),
            None,
        );
    }
    if vm.info.persistent_ids > 0 {
        let n = vm.info.persistent_ids;
        vm.scope.report(
            "pickle.persistent-id",
            Severity::Info,
            None,
            format!("{n} persistent ids (external objects such as tensor storages)"),
            None,
        );
    }
    let globals = vm.info.globals.clone();
    for g in &globals {
        if let Some(sev) = g.severity {
            let rule = match sev {
                Severity::Critical => "pickle.global.critical",
                Severity::High => "pickle.global.high",
                _ => "pickle.global.unknown",
            };
            let reason = match vm.scope.allow.classify(&g.module, &g.name) {
                Verdict::Flag(_, r) => r,
                Verdict::Allowed => "",
            };
            let times = if g.count > 1 {
                format!(" ({} times)", g.count)
            } else {
                String::new()
            };
            let called = if g.called { ", called" } else { "" };
            vm.scope.report(
                rule,
                sev,
                Some(g.offset),
                format!("imports {}.{}{times}{called}: {reason}", g.module, g.name),
                Some((g.module.clone(), g.name.clone())),
            );
        }
    }
    vm.info
}

/// Whether the bytes look like the start of a pickle: a PROTO opcode, or a protocol-0/1
/// opcode that a pickle can start with.
pub fn looks_like_pickle(head: &[u8]) -> bool {
    match head {
        [0x80, p, ..] => *p <= 5,
        [c, ..] => matches!(
            c,
            b'(' | b']'
                | b'}'
                | b')'
                | b'c'
                | b'N'
                | b'I'
                | b'L'
                | b'F'
                | b'S'
                | b'V'
                | b'K'
                | b'J'
                | b'M'
                | b'X'
                | b'U'
                | b'T'
                | b'G'
                | b'd'
                | b'l'
                | b't'
        ),
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::globals::Allowlist;
    use crate::model::scope::Budgets;

    fn scan(data: &[u8]) -> (Vec<PickleInfo>, Vec<crate::model::finding::Finding>) {
        let b = Budgets::default();
        let a = Allowlist::default();
        let mut findings = Vec::new();
        let mut dropped = 0;
        let mut spent = 0;
        let mut scope = Scope {
            file: "t.pkl",
            member: None,
            budgets: &b,
            allow: &a,
            findings: &mut findings,
            dropped: &mut dropped,
            spent: &mut spent,
            depth: 0,
            base: 0,
        };
        let mut input = Input::bytes(data);
        let infos = scan_pickles(&mut input, &mut scope);
        (infos, findings)
    }

    #[test]
    fn protocol_0_os_system() {
        let (info, f) = scan(b"cos\nsystem\n(S'echo hi'\ntR.");
        assert!(info[0].complete);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "pickle.global.critical");
        assert_eq!(f[0].global, Some(("os".into(), "system".into())));
        assert_eq!(f[0].offset, Some(0));
        assert!(f[0].message.contains("called"));
    }

    #[test]
    fn stack_global_from_memo() {
        // Protocol 4: "builtins" and "eval" memoized, fetched with BINGET, then STACK_GLOBAL.
        let mut p = vec![0x80, 4];
        p.extend([0x8c, 8]);
        p.extend(b"builtins");
        p.push(0x94);
        p.extend([0x8c, 4]);
        p.extend(b"eval");
        p.push(0x94);
        p.extend([b'0', b'0']); // pop both
        p.extend([b'h', 0, b'h', 1, 0x93]);
        p.extend([0x8c, 1, b'1', 0x85, b'R', b'.']);
        let (info, f) = scan(&p);
        assert!(info[0].complete, "{f:?}");
        let g: Vec<_> = f
            .iter()
            .filter(|x| x.rule == "pickle.global.critical")
            .collect();
        assert_eq!(g.len(), 1, "{f:?}");
        assert_eq!(g[0].global, Some(("builtins".into(), "eval".into())));
    }

    #[test]
    fn garbage_and_truncation_are_findings() {
        for data in [
            &b""[..],
            b"\x80\x04\x95",
            b"cos\nsys",
            b"\xff\xff",
            b"(((((((",
            b"h\x05.",
        ] {
            let (_, f) = scan(data);
            assert!(
                f.iter().any(|x| x.rule == "pickle.malformed"),
                "{data:?}: {f:?}"
            );
        }
    }
}
