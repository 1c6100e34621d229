//! Fixture generator: malicious and benign model files built byte by byte, so no binary is
//! committed. Pickles are assembled opcode by opcode with [`P`].

use std::io::Write;

/// A pickle under construction.
#[derive(Debug, Clone, Default)]
pub struct P(pub Vec<u8>);

#[allow(dead_code)]
impl P {
    /// `PROTO n`.
    pub fn proto(n: u8) -> P {
        P(vec![0x80, n])
    }

    /// Protocol 0 (no PROTO opcode).
    pub fn p0() -> P {
        P(Vec::new())
    }

    pub fn raw(mut self, b: &[u8]) -> P {
        self.0.extend_from_slice(b);
        self
    }

    pub fn op(self, b: u8) -> P {
        self.raw(&[b])
    }

    /// `GLOBAL module name` (text lines).
    pub fn global(self, m: &str, n: &str) -> P {
        self.raw(format!("c{m}\n{n}\n").as_bytes())
    }

    /// `INST module name` (pops the args after the last MARK).
    pub fn inst(self, m: &str, n: &str) -> P {
        self.raw(format!("i{m}\n{n}\n").as_bytes())
    }

    /// A unicode string: SHORT_BINUNICODE or BINUNICODE.
    pub fn str(self, s: &str) -> P {
        let b = s.as_bytes();
        if b.len() < 256 {
            self.op(0x8c).op(b.len() as u8).raw(b)
        } else {
            self.op(b'X').raw(&(b.len() as u32).to_le_bytes()).raw(b)
        }
    }

    /// Protocol-0 `STRING 'x'`.
    pub fn string0(self, s: &str) -> P {
        self.raw(format!("S'{s}'\n").as_bytes())
    }

    /// `BININT`.
    pub fn int(self, i: i32) -> P {
        self.op(b'J').raw(&i.to_le_bytes())
    }

    /// `BININT1`.
    pub fn int1(self, i: u8) -> P {
        self.op(b'K').op(i)
    }

    pub fn bytes(self, b: &[u8]) -> P {
        self.op(b'B').raw(&(b.len() as u32).to_le_bytes()).raw(b)
    }

    pub fn mark(self) -> P {
        self.op(b'(')
    }
    pub fn tuple(self) -> P {
        self.op(b't')
    }
    pub fn tuple1(self) -> P {
        self.op(0x85)
    }
    pub fn tuple2(self) -> P {
        self.op(0x86)
    }
    pub fn empty_tuple(self) -> P {
        self.op(b')')
    }
    pub fn empty_dict(self) -> P {
        self.op(b'}')
    }
    pub fn empty_list(self) -> P {
        self.op(b']')
    }
    pub fn reduce(self) -> P {
        self.op(b'R')
    }
    pub fn build(self) -> P {
        self.op(b'b')
    }
    pub fn newobj(self) -> P {
        self.op(0x81)
    }
    pub fn obj(self) -> P {
        self.op(b'o')
    }
    pub fn setitem(self) -> P {
        self.op(b's')
    }
    pub fn setitems(self) -> P {
        self.op(b'u')
    }
    pub fn appends(self) -> P {
        self.op(b'e')
    }
    pub fn pop(self) -> P {
        self.op(b'0')
    }
    pub fn memoize(self) -> P {
        self.op(0x94)
    }
    pub fn binput(self, k: u8) -> P {
        self.op(b'q').op(k)
    }
    pub fn binget(self, k: u8) -> P {
        self.op(b'h').op(k)
    }
    pub fn stack_global(self) -> P {
        self.op(0x93)
    }
    pub fn newtrue(self) -> P {
        self.op(0x88)
    }
    pub fn newfalse(self) -> P {
        self.op(0x89)
    }
    pub fn none(self) -> P {
        self.op(b'N')
    }
    pub fn binpersid(self) -> P {
        self.op(b'Q')
    }
    pub fn stop(self) -> Vec<u8> {
        let mut v = self.0;
        v.push(b'.');
        v
    }
}

/// `os.system("id")` the classic way (protocol 0).
pub fn p0_os_system() -> Vec<u8> {
    P::p0()
        .global("os", "system")
        .mark()
        .string0("id")
        .tuple()
        .reduce()
        .stop()
}

/// The malicious pickles of the test suite: (technique, bytes, expected critical global).
pub fn malicious_pickles() -> Vec<(&'static str, Vec<u8>, (&'static str, &'static str))> {
    vec![
        (
            "protocol 0 GLOBAL + REDUCE",
            p0_os_system(),
            ("os", "system"),
        ),
        (
            "protocol 2 posix.system",
            P::proto(2)
                .global("posix", "system")
                .str("id")
                .tuple1()
                .reduce()
                .stop(),
            ("posix", "system"),
        ),
        (
            "STACK_GLOBAL builtins.exec",
            P::proto(4)
                .str("builtins")
                .str("exec")
                .stack_global()
                .str("import os")
                .tuple1()
                .reduce()
                .stop(),
            ("builtins", "exec"),
        ),
        (
            "STACK_GLOBAL from memoized strings",
            P::proto(4)
                .str("builtins")
                .memoize()
                .pop()
                .str("eval")
                .memoize()
                .pop()
                .binget(0)
                .binget(1)
                .stack_global()
                .str("1+1")
                .tuple1()
                .reduce()
                .stop(),
            ("builtins", "eval"),
        ),
        (
            "memo indirection of the global",
            P::proto(2)
                .global("subprocess", "check_output")
                .binput(7)
                .pop()
                .empty_dict()
                .binget(7)
                .str("id")
                .tuple1()
                .reduce()
                .pop()
                .stop(),
            ("subprocess", "check_output"),
        ),
        (
            "INST",
            P::p0()
                .mark()
                .string0("id")
                .inst("subprocess", "Popen")
                .stop(),
            ("subprocess", "Popen"),
        ),
        (
            "OBJ",
            P::proto(1)
                .mark()
                .global("os", "popen")
                .string0("id")
                .obj()
                .stop(),
            ("os", "popen"),
        ),
        (
            "NEWOBJ",
            P::proto(2)
                .global("runpy", "_run_code")
                .str("x")
                .tuple1()
                .newobj()
                .stop(),
            ("runpy", "_run_code"),
        ),
        (
            "getattr chain",
            P::proto(2)
                .global("builtins", "getattr")
                .global("builtins", "__import__")
                .str("os")
                .tuple1()
                .reduce()
                .str("system")
                .tuple2()
                .reduce()
                .str("id")
                .tuple1()
                .reduce()
                .stop(),
            ("builtins", "getattr"),
        ),
        (
            "importlib",
            P::proto(3)
                .global("importlib", "import_module")
                .str("os")
                .tuple1()
                .reduce()
                .stop(),
            ("importlib", "import_module"),
        ),
        (
            "pty spawn",
            P::proto(2)
                .global("pty", "spawn")
                .str("/bin/sh")
                .tuple1()
                .reduce()
                .stop(),
            ("pty", "spawn"),
        ),
        (
            "compile",
            P::proto(2)
                .global("builtins", "compile")
                .str("x")
                .str("f")
                .str("exec")
                .op(0x87)
                .reduce()
                .stop(),
            ("builtins", "compile"),
        ),
        (
            "dotted name behind an allowed module",
            P::proto(4)
                .str("torch")
                .str("serialization.os.system")
                .stack_global()
                .str("id")
                .tuple1()
                .reduce()
                .stop(),
            ("torch", "serialization.os.system"),
        ),
        (
            "pickle in bytes",
            P::proto(3)
                .bytes(
                    &P::proto(2)
                        .global("os", "system")
                        .str("id")
                        .tuple1()
                        .reduce()
                        .stop(),
                )
                .stop(),
            ("os", "system"),
        ),
        (
            "protocol 5 with FRAME",
            {
                let body = P(Vec::new())
                    .global("nt", "system")
                    .str("x")
                    .tuple1()
                    .reduce()
                    .0;
                let mut p = P::proto(5)
                    .op(0x95)
                    .raw(&(body.len() as u64 + 1).to_le_bytes());
                p.0.extend(body);
                p.stop()
            },
            ("nt", "system"),
        ),
    ]
}

/// A pickled PyTorch state dict: `OrderedDict(weight=tensor)` with a persistent storage id.
pub fn torch_state_dict_pickle() -> Vec<u8> {
    P::proto(2)
        .global("collections", "OrderedDict")
        .binput(0)
        .empty_tuple()
        .reduce()
        .binput(1)
        .str("weight")
        .binput(2)
        .global("torch._utils", "_rebuild_tensor_v2")
        .binput(3)
        .mark()
        .mark()
        .str("storage")
        .global("torch", "FloatStorage")
        .str("0")
        .str("cpu")
        .int1(4)
        .tuple()
        .binpersid()
        .int1(0)
        .int1(2)
        .int1(2)
        .tuple2()
        .int1(2)
        .int1(1)
        .tuple2()
        .newfalse()
        .global("collections", "OrderedDict")
        .empty_tuple()
        .reduce()
        .tuple()
        .reduce()
        .setitem()
        .stop()
}

/// A zip archive with the given members (stored).
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A zip archive with deflated members.
pub fn zip_deflated(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A PyTorch (1.6+) zip checkpoint around a data.pkl.
pub fn torch_zip(data_pkl: &[u8]) -> Vec<u8> {
    zip(&[
        ("archive/data.pkl", data_pkl),
        ("archive/byteorder", b"little"),
        ("archive/data/0", &[0u8; 16]),
        ("archive/version", b"3\n"),
        ("archive/.data/serialization_id", b"1234567890"),
    ])
}

/// A legacy (pre-1.6) torch.save file: magic, protocol, sys info, model, storage keys, data.
pub fn torch_legacy(model: &[u8]) -> Vec<u8> {
    let magic = P::proto(2)
        .op(0x8a)
        .op(10)
        .raw(&[0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])
        .stop();
    let mut v = magic;
    v.extend(P::proto(2).int(1001).stop());
    v.extend(
        P::proto(2)
            .empty_dict()
            .str("little_endian")
            .newtrue()
            .setitem()
            .stop(),
    );
    v.extend_from_slice(model);
    v.extend(P::proto(2).mark().str("0").op(b'l').stop());
    v.extend(&8u64.to_le_bytes());
    v.extend(&[0x80u8; 32]);
    v
}

/// A .npy file.
pub fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend(&(h.len() as u16).to_le_bytes());
    v.extend(h.as_bytes());
    v.extend_from_slice(data);
    v
}

/// A joblib pickle: a list holding one float64 array (wrapper + raw data in the stream), then
/// `tail` objects appended after the array.
pub fn joblib(tail: P) -> Vec<u8> {
    let dtype = P(Vec::new())
        .global("numpy", "dtype")
        .str("f8")
        .newfalse()
        .newtrue()
        .op(0x87)
        .reduce()
        .mark()
        .int1(3)
        .str("<")
        .none()
        .none()
        .none()
        .int(-1)
        .int(-1)
        .int1(0)
        .tuple()
        .build();
    let mut p = P::proto(4)
        .empty_list()
        .mark()
        .global("joblib.numpy_pickle", "NumpyArrayWrapper")
        .empty_tuple()
        .newobj()
        .empty_dict()
        .mark()
        .str("subclass")
        .global("numpy", "ndarray")
        .str("shape")
        .int1(3)
        .tuple1()
        .str("order")
        .str("C")
        .str("dtype")
        .raw(&dtype.0)
        .str("allow_mmap")
        .newtrue()
        .str("numpy_array_alignment_bytes")
        .int1(16)
        .setitems()
        .build();
    // Padding byte (length 0 for simplicity: the real writer aligns), then 3 float64s.
    p = p.raw(&[0]).raw(&[0x11u8; 24]);
    p.0.extend(tail.0);
    p.appends().stop()
}

/// A safetensors file from a header JSON and a data section.
pub fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend(header.as_bytes());
    v.extend_from_slice(data);
    v
}

/// A GGUF v3 writer for tests.
#[derive(Default)]
pub struct Gguf {
    kv: Vec<u8>,
    n_kv: u64,
    tensors: Vec<u8>,
    n_tensors: u64,
    pub data: Vec<u8>,
}

#[allow(dead_code)]
impl Gguf {
    fn s(v: &mut Vec<u8>, s: &str) {
        v.extend(&(s.len() as u64).to_le_bytes());
        v.extend(s.as_bytes());
    }
    pub fn kv_str(mut self, k: &str, val: &str) -> Self {
        Self::s(&mut self.kv, k);
        self.kv.extend(&8u32.to_le_bytes());
        Self::s(&mut self.kv, val);
        self.n_kv += 1;
        self
    }
    pub fn kv_u32(mut self, k: &str, val: u32) -> Self {
        Self::s(&mut self.kv, k);
        self.kv.extend(&4u32.to_le_bytes());
        self.kv.extend(&val.to_le_bytes());
        self.n_kv += 1;
        self
    }
    pub fn kv_str_array(mut self, k: &str, vals: &[&str]) -> Self {
        Self::s(&mut self.kv, k);
        self.kv.extend(&9u32.to_le_bytes());
        self.kv.extend(&8u32.to_le_bytes());
        self.kv.extend(&(vals.len() as u64).to_le_bytes());
        for v in vals {
            Self::s(&mut self.kv, v);
        }
        self.n_kv += 1;
        self
    }
    pub fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Self {
        Self::s(&mut self.tensors, name);
        self.tensors.extend(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend(&d.to_le_bytes());
        }
        self.tensors.extend(&ty.to_le_bytes());
        self.tensors.extend(&offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }
    pub fn build(self) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend(&3u32.to_le_bytes());
        v.extend(&self.n_tensors.to_le_bytes());
        v.extend(&self.n_kv.to_le_bytes());
        v.extend(self.kv);
        v.extend(self.tensors);
        while !v.len().is_multiple_of(32) {
            v.push(0);
        }
        v.extend(self.data);
        v
    }
}

/// Protobuf helpers for ONNX fixtures.
pub mod pb {
    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    pub fn field_varint(num: u64, v: u64, out: &mut Vec<u8>) {
        varint(num << 3, out);
        varint(v, out);
    }
    pub fn field_bytes(num: u64, b: &[u8], out: &mut Vec<u8>) {
        varint((num << 3) | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
}

/// An ONNX model with one initializer whose data is external at `location`.
pub fn onnx_external(location: &str) -> Vec<u8> {
    use pb::*;
    let mut entry = Vec::new();
    field_bytes(1, b"location", &mut entry);
    field_bytes(2, location.as_bytes(), &mut entry);
    let mut tensor = Vec::new();
    field_varint(1, 4, &mut tensor);
    field_varint(2, 1, &mut tensor);
    field_bytes(8, b"w", &mut tensor);
    field_bytes(13, &entry, &mut tensor);
    field_varint(14, 1, &mut tensor);
    let mut node = Vec::new();
    field_bytes(4, b"Add", &mut node);
    field_bytes(7, b"evil.domain", &mut node);
    let mut graph = Vec::new();
    field_bytes(1, &node, &mut graph);
    field_bytes(2, b"g", &mut graph);
    field_bytes(5, &tensor, &mut graph);
    let mut opset = Vec::new();
    field_varint(2, 17, &mut opset);
    let mut model = Vec::new();
    field_varint(1, 8, &mut model);
    field_bytes(2, b"pytorch", &mut model);
    field_bytes(7, &graph, &mut model);
    field_bytes(8, &opset, &mut model);
    model
}

/// A tar archive with the given members.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        v.extend_from_slice(&h);
        v.extend_from_slice(data);
        while !v.len().is_multiple_of(512) {
            v.push(0);
        }
    }
    v.extend_from_slice(&[0u8; 1024]);
    v
}

/// gzip.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// zlib (joblib's default compressor).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
