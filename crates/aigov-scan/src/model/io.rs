//! A byte stream for the model parsers: buffered, position-tracking, limit-able (for nested
//! streams) and skip-able (seeking when the source is a file, reading and discarding
//! otherwise), so a parser never holds more than the small piece it is looking at.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

enum Inner<'a> {
    File(BufReader<File>),
    Dyn(BufReader<Box<dyn Read + 'a>>),
}

/// A stream being parsed.
pub struct Input<'a> {
    inner: Inner<'a>,
    /// Bytes pushed back, read before `inner`.
    pending: Vec<u8>,
    pos: u64,
    /// Stream positions that reads may not pass (innermost last).
    limits: Vec<u64>,
    len: Option<u64>,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("pos", &self.pos)
            .field("len", &self.len)
            .finish()
    }
}

const BUF: usize = 1 << 16;

impl<'a> Input<'a> {
    /// A file from its start.
    pub fn file(f: File, len: u64) -> Input<'static> {
        Input {
            inner: Inner::File(BufReader::with_capacity(BUF, f)),
            pending: Vec::new(),
            pos: 0,
            limits: Vec::new(),
            len: Some(len),
        }
    }

    /// Any reader; `len` when known.
    pub fn reader(r: Box<dyn Read + 'a>, len: Option<u64>) -> Input<'a> {
        Input {
            inner: Inner::Dyn(BufReader::with_capacity(BUF, r)),
            pending: Vec::new(),
            pos: 0,
            limits: Vec::new(),
            len,
        }
    }

    /// In-memory bytes.
    pub fn bytes(b: &'a [u8]) -> Input<'a> {
        let len = b.len() as u64;
        Input::reader(Box::new(b), Some(len))
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Total length of the stream, when known.
    pub fn total_len(&self) -> Option<u64> {
        self.len
    }

    /// Bytes left before the innermost limit or the known end.
    pub fn remaining(&self) -> Option<u64> {
        match (self.limits.last(), self.len) {
            (Some(&l), _) => Some(l.saturating_sub(self.pos)),
            (None, Some(len)) => Some(len.saturating_sub(self.pos)),
            _ => None,
        }
    }

    fn cap(&self, want: usize) -> usize {
        match self.limits.last() {
            Some(&l) => want.min(l.saturating_sub(self.pos) as usize),
            None => want,
        }
    }

    /// Restricts reads to the next `n` bytes until [`Input::pop_limit`].
    pub fn push_limit(&mut self, n: u64) {
        let end = self.pos.saturating_add(n);
        let end = self.limits.last().map_or(end, |&l| end.min(l));
        self.limits.push(end);
    }

    /// Lifts the innermost limit, first skipping to it.
    pub fn pop_limit(&mut self) -> io::Result<()> {
        if let Some(&l) = self.limits.last() {
            let left = l.saturating_sub(self.pos);
            let r = self.skip(left);
            self.limits.pop();
            r
        } else {
            Ok(())
        }
    }

    /// Pushes bytes back to be read again (only what was just read).
    pub fn unread(&mut self, b: &[u8]) {
        let mut v = b.to_vec();
        v.extend_from_slice(&self.pending);
        self.pending = v;
        self.pos -= b.len() as u64;
    }

    /// Reads up to `buf.len()` bytes (0 at the end or at a limit).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.cap(buf.len());
        if n == 0 {
            return Ok(0);
        }
        if !self.pending.is_empty() {
            let k = n.min(self.pending.len());
            buf[..k].copy_from_slice(&self.pending[..k]);
            self.pending.drain(..k);
            self.pos += k as u64;
            return Ok(k);
        }
        let k = match &mut self.inner {
            Inner::File(r) => r.read(&mut buf[..n])?,
            Inner::Dyn(r) => r.read(&mut buf[..n])?,
        };
        self.pos += k as u64;
        Ok(k)
    }

    /// Fills `buf` or fails with `UnexpectedEof`.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut got = 0;
        while got < buf.len() {
            let k = self.read(&mut buf[got..])?;
            if k == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += k;
        }
        Ok(())
    }

    /// One byte, or `None` at the end.
    #[inline]
    pub fn next_byte(&mut self) -> io::Result<Option<u8>> {
        if self.pending.is_empty() && self.cap(1) == 1 {
            let r: &mut dyn BufRead = match &mut self.inner {
                Inner::File(r) => r,
                Inner::Dyn(r) => r,
            };
            let b = r.fill_buf()?;
            if let Some(&c) = b.first() {
                r.consume(1);
                self.pos += 1;
                return Ok(Some(c));
            }
            return Ok(None);
        }
        let mut b = [0u8; 1];
        Ok((self.read(&mut b)? == 1).then_some(b[0]))
    }

    /// A byte or `UnexpectedEof`.
    pub fn u8(&mut self) -> io::Result<u8> {
        self.next_byte()?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    /// Little-endian integers.
    pub fn u16_le(&mut self) -> io::Result<u16> {
        let mut b = [0u8; 2];
        self.read_exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Little-endian u32.
    pub fn u32_le(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Little-endian u64.
    pub fn u64_le(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// `n` bytes into a new vector; refuses more than `max`.
    pub fn take_vec(&mut self, n: u64, max: u64) -> io::Result<Vec<u8>> {
        if n > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("length {n} exceeds the budget of {max} bytes"),
            ));
        }
        if let Some(r) = self.remaining()
            && n > r
        {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut v = vec![0u8; n as usize];
        self.read_exact(&mut v)?;
        Ok(v)
    }

    /// Skips `n` bytes (seeking in files), failing with `UnexpectedEof` if they are not there.
    pub fn skip(&mut self, mut n: u64) -> io::Result<()> {
        if let Some(l) = self.limits.last()
            && self.pos.saturating_add(n) > *l
        {
            let left = l.saturating_sub(self.pos);
            self.skip(left)?;
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let k = (n as usize).min(self.pending.len());
        self.pending.drain(..k);
        self.pos += k as u64;
        n -= k as u64;
        if n == 0 {
            return Ok(());
        }
        match &mut self.inner {
            Inner::File(r) => {
                if let Some(len) = self.len
                    && self.pos.saturating_add(n) > len
                {
                    let left = len.saturating_sub(self.pos);
                    r.seek_relative(left as i64)?;
                    self.pos = len;
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                r.seek_relative(n as i64)?;
                self.pos += n;
                Ok(())
            }
            Inner::Dyn(r) => {
                let got = io::copy(&mut r.by_ref().take(n), &mut io::sink())?;
                self.pos += got;
                if got < n {
                    Err(io::ErrorKind::UnexpectedEof.into())
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A line without its `\n`, at most `max` bytes (longer lines are an error).
    pub fn line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let Some(c) = self.next_byte()? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            if c == b'\n' {
                return Ok(out);
            }
            if out.len() >= max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line longer than {max} bytes"),
                ));
            }
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_skips_and_unread() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut i = Input::bytes(&data);
        assert_eq!(i.u8().unwrap(), 0);
        i.push_limit(10);
        let mut b = [0u8; 4];
        i.read_exact(&mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        i.unread(&b[2..]);
        assert_eq!(i.pos(), 3);
        assert_eq!(i.u16_le().unwrap(), u16::from_le_bytes([3, 4]));
        assert!(i.skip(100).is_err());
        assert_eq!(i.pos(), 11);
        i.pop_limit().unwrap();
        assert_eq!(i.u8().unwrap(), 11);
        assert_eq!(i.remaining(), Some(88));
        assert!(i.take_vec(10, 5).is_err());
    }
}
