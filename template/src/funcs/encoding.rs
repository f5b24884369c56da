//! Encodings: Sprig's base64/base32 (with Go's decoder quirks: line breaks
//! are skipped, errors name the offending byte), its JSON printers
//! (`toPrettyJson`, `toRawJson`, `mustFromJson`).

use super::{FuncMap, Ty, add, s, sig};
use crate::value::{Value, gostr};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "b64enc", sig(&[Str]), |_, a| {
        Ok(Value::str(b64encode(&gostr::to_bytes(s(&a[0])))))
    });
    add(m, "b64dec", sig(&[Str]), |_, a| {
        Ok(Value::str(match b64decode(s(&a[0]).as_bytes()) {
            Ok(b) => gostr::from_bytes(&b),
            Err(e) => e,
        }))
    });
    add(m, "b32enc", sig(&[Str]), |_, a| {
        Ok(Value::str(b32encode(&gostr::to_bytes(s(&a[0])))))
    });
    add(m, "b32dec", sig(&[Str]), |_, a| {
        Ok(Value::str(match b32decode(s(&a[0]).as_bytes()) {
            Ok(b) => gostr::from_bytes(&b),
            Err(e) => e,
        }))
    });
    add(m, "toPrettyJson", sig(&[Any]), |_, a| {
        if super::check_encodable(&a[0])?.is_some() {
            return Ok(Value::str(""));
        }
        Ok(Value::str(
            crate::json::marshal_indent(&a[0]).unwrap_or_default(),
        ))
    });
    add(m, "mustToPrettyJson", sig(&[Any]), |_, a| {
        if let Some(e) = super::check_encodable(&a[0])? {
            return Err(super::err(e));
        }
        crate::json::marshal_indent(&a[0])
            .map(Value::str)
            .map_err(super::err)
    });
    add(m, "toRawJson", sig(&[Any]), |_, a| {
        if let Some(e) = super::check_encodable_by(&a[0], crate::json::marshal_raw)? {
            return Err(super::err(e));
        }
        crate::json::marshal_raw(&a[0])
            .map(Value::str)
            .map_err(super::err)
    });
    add(m, "mustToRawJson", sig(&[Any]), |_, a| {
        if let Some(e) = super::check_encodable_by(&a[0], crate::json::marshal_raw)? {
            return Err(super::err(e));
        }
        crate::json::marshal_raw(&a[0])
            .map(Value::str)
            .map_err(super::err)
    });
    add(m, "mustFromJson", sig(&[Str]), |_, a| {
        crate::json::unmarshal(s(&a[0])).map_err(super::err)
    });
}

/// `base64.StdEncoding.EncodeToString`.
pub fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(B64[(v >> 18) as usize & 63] as char);
        out.push(B64[(v >> 12) as usize & 63] as char);
        out.push(if n > 1 {
            B64[(v >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if n > 2 {
            B64[v as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// `base64.StdEncoding.DecodeString`: strict padding, `\r` and `\n` ignored,
/// errors as Go's `CorruptInputError` ("illegal base64 data at input byte N").
pub fn b64decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let corrupt = |i: usize| format!("illegal base64 data at input byte {i}");
    let val = |c: u8| B64.iter().position(|x| *x == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut i = 0;
    let n = src.len();
    loop {
        // Collect one quantum of 4 characters, skipping newlines.
        let mut q = [0u32; 4];
        let mut got = 0;
        let mut pad_at: Option<usize> = None;
        while got < 4 {
            while i < n && (src[i] == b'\n' || src[i] == b'\r') {
                i += 1;
            }
            if i >= n {
                if got == 0 {
                    return Ok(out);
                }
                // Missing padding.
                return Err(corrupt(i - got.min(i)));
            }
            let c = src[i];
            if c == b'=' {
                // Padding: valid only at positions 2 or 3 of the quantum.
                match got {
                    0 | 1 => return Err(corrupt(i)),
                    2 => {
                        // Expect a second '='.
                        let mut j = i + 1;
                        while j < n && (src[j] == b'\n' || src[j] == b'\r') {
                            j += 1;
                        }
                        if j >= n {
                            return Err(corrupt(n));
                        }
                        if src[j] != b'=' {
                            return Err(corrupt(j));
                        }
                        i = j + 1;
                    }
                    _ => i += 1,
                }
                pad_at = Some(got);
                // Only newlines may follow.
                while i < n && (src[i] == b'\n' || src[i] == b'\r') {
                    i += 1;
                }
                if i < n {
                    return Err(corrupt(i));
                }
                break;
            }
            match val(c) {
                Some(v) => q[got] = v,
                None => return Err(corrupt(i)),
            }
            got += 1;
            i += 1;
        }
        let v = (q[0] << 18) | (q[1] << 12) | (q[2] << 6) | q[3];
        match pad_at {
            Some(2) => out.push((v >> 16) as u8),
            Some(3) => {
                out.push((v >> 16) as u8);
                out.push((v >> 8) as u8);
            }
            _ => {
                out.push((v >> 16) as u8);
                out.push((v >> 8) as u8);
                out.push(v as u8);
            }
        }
        if pad_at.is_some() {
            return Ok(out);
        }
    }
}

/// `base32.StdEncoding.EncodeToString`.
pub fn b32encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for k in 0..8 {
            if k < chars {
                out.push(B32[((v >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString` (approximate error positions).
pub fn b32decode(src: &[u8]) -> Result<Vec<u8>, String> {
    // Line breaks are dropped first; positions count in what remains.
    let src: Vec<u8> = src
        .iter()
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r')
        .collect();
    let corrupt = |at: usize| Err(format!("illegal base32 data at input byte {at}"));
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    // Go's `decode`: quantum by quantum, in order.
    while !rest.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                // The end, with padding missing.
                return corrupt(olen - j);
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return corrupt(olen);
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return corrupt(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return corrupt(olen - rest.len() - 1);
                }
                break;
            }
            match B32.iter().position(|x| *x == c) {
                Some(p) => dbuf[j] = p as u8,
                None => return corrupt(olen - rest.len() - 1),
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            (d[0] << 3) | (d[1] >> 2),
            (d[1] << 6) | (d[2] << 1) | (d[3] >> 4),
            (d[3] << 4) | (d[4] >> 1),
            (d[4] << 7) | (d[5] << 2) | (d[6] >> 3),
            (d[6] << 5) | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(b64encode(b"hello"), "aGVsbG8=");
        assert_eq!(b64decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64decode(b"aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(
            b64decode(b"aGVsbG8").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            b64decode(b"a!==").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(b32encode(b"hi"), "NBUQ====");
        assert_eq!(b32decode(b"NBUQ====").unwrap(), b"hi");
    }
}
