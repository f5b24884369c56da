//! Just enough ASN.1 DER and PEM for Sprig's certificate functions: a
//! writer for the structures Go's `crypto/x509` emits, a reader for the
//! keys and certificates templates hand back in, and Go's `encoding/pem`
//! block format (64-column base64 between BEGIN/END lines).

use num_bigint::BigUint;

pub const TAG_BOOLEAN: u8 = 0x01;
pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_BIT_STRING: u8 = 0x03;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_UTF8_STRING: u8 = 0x0C;
pub const TAG_PRINTABLE_STRING: u8 = 0x13;
pub const TAG_UTC_TIME: u8 = 0x17;
pub const TAG_GENERALIZED_TIME: u8 = 0x18;
pub const TAG_SEQUENCE: u8 = 0x30;
pub const TAG_SET: u8 = 0x31;

// ---- writing ----

/// A tag-length-value triple.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(TAG_SET, &parts.concat())
}

/// A non-negative INTEGER.
pub fn uint(n: &BigUint) -> Vec<u8> {
    let mut bytes = n.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    tlv(TAG_INTEGER, &bytes)
}

pub fn small_int(n: u64) -> Vec<u8> {
    uint(&BigUint::from(n))
}

pub fn boolean(b: bool) -> Vec<u8> {
    tlv(TAG_BOOLEAN, &[if b { 0xFF } else { 0 }])
}

pub fn null() -> Vec<u8> {
    tlv(TAG_NULL, &[])
}

pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(TAG_OCTET_STRING, b)
}

/// A BIT STRING of whole bytes.
pub fn bits(b: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(b);
    tlv(TAG_BIT_STRING, &content)
}

/// A BIT STRING whose trailing zero bits are not counted (Go's
/// `asn1BitLength`), as key usages are written.
pub fn trimmed_bits(b: &[u8]) -> Vec<u8> {
    let mut len = b.len() * 8;
    'outer: for i in (0..b.len()).rev() {
        for bit in 0..8 {
            if b[i] & (1 << bit) != 0 {
                break 'outer;
            }
            len -= 1;
        }
    }
    let used = len.div_ceil(8);
    let mut content = vec![(used * 8 - len) as u8];
    content.extend_from_slice(&b[..used]);
    tlv(TAG_BIT_STRING, &content)
}

pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        tmp.reverse();
        content.extend(tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    tlv(TAG_OID, &content)
}

/// Context-specific constructed `[n]` (EXPLICIT tagging).
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, inner)
}

/// Context-specific primitive `[n]` (IMPLICIT tagging of a primitive).
pub fn implicit(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | n, content)
}

/// A string the way Go's `encoding/asn1` marshals an untagged string:
/// PrintableString when every character allows it, else UTF8String.
pub fn go_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b));
    tlv(
        if printable {
            TAG_PRINTABLE_STRING
        } else {
            TAG_UTF8_STRING
        },
        s.as_bytes(),
    )
}

// ---- reading ----

/// A cursor over DER elements.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
}

/// One element: its tag, content, and full encoding.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    pub fn read(&mut self) -> Result<Element<'a>, String> {
        let d = self.data;
        let bad = || "asn1: syntax error: data truncated".to_string();
        if d.len() < 2 {
            return Err(bad());
        }
        let tag = d[0];
        if tag & 0x1F == 0x1F {
            return Err("asn1: structure error: high-tag-number form".into());
        }
        let (len, header) = if d[1] < 0x80 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7F) as usize;
            if n == 0 || n > 4 || d.len() < 2 + n {
                return Err(bad());
            }
            let mut len = 0usize;
            for &b in &d[2..2 + n] {
                len = (len << 8) | b as usize;
            }
            if d[2] == 0 || len < 0x80 {
                return Err("asn1: structure error: non-minimal length".into());
            }
            (len, 2 + n)
        };
        if d.len() - header < len {
            return Err(bad());
        }
        let raw = &d[..header + len];
        self.data = &d[header + len..];
        Ok(Element {
            tag,
            content: &raw[header..],
            raw,
        })
    }

    /// The next element, which must have tag `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Element<'a>, String> {
        let e = self.read()?;
        if e.tag != tag {
            return Err(format!(
                "asn1: structure error: tags don't match (expected {tag:#04x}, got {:#04x})",
                e.tag
            ));
        }
        Ok(e)
    }

    /// The next element if it has tag `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Element<'a>>, String> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn sequence(&mut self) -> Result<Reader<'a>, String> {
        Ok(Reader::new(self.expect(TAG_SEQUENCE)?.content))
    }

    pub fn uint(&mut self) -> Result<BigUint, String> {
        let e = self.expect(TAG_INTEGER)?;
        if e.content.is_empty() {
            return Err("asn1: syntax error: empty integer".into());
        }
        if e.content[0] & 0x80 != 0 {
            return Err("x509: negative integer".into());
        }
        Ok(BigUint::from_bytes_be(e.content))
    }

    pub fn small_uint(&mut self) -> Result<u64, String> {
        let n = self.uint()?;
        u64::try_from(&n).map_err(|_| "asn1: structure error: integer too large".to_string())
    }

    pub fn octets(&mut self) -> Result<&'a [u8], String> {
        Ok(self.expect(TAG_OCTET_STRING)?.content)
    }

    /// A BIT STRING of whole bytes.
    pub fn bits(&mut self) -> Result<&'a [u8], String> {
        let e = self.expect(TAG_BIT_STRING)?;
        match e.content.split_first() {
            Some((0, rest)) => Ok(rest),
            _ => Err("asn1: structure error: invalid bit string".into()),
        }
    }

    pub fn oid(&mut self) -> Result<Vec<u64>, String> {
        let e = self.expect(TAG_OID)?;
        parse_oid(e.content)
    }
}

pub fn parse_oid(content: &[u8]) -> Result<Vec<u64>, String> {
    let mut values = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        v = v
            .checked_mul(128)
            .ok_or("asn1: structure error: base 128 integer too large")?
            | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            values.push(v);
            v = 0;
        } else if i + 1 == content.len() {
            return Err("asn1: syntax error: truncated base 128 integer".into());
        }
    }
    let Some(&first) = values.first() else {
        return Err("asn1: syntax error: zero length OBJECT IDENTIFIER".into());
    };
    let mut arcs = if first < 80 {
        vec![first / 40, first % 40]
    } else {
        vec![2, first - 80]
    };
    arcs.extend_from_slice(&values[1..]);
    Ok(arcs)
}

pub fn oid_string(arcs: &[u64]) -> String {
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

// ---- PEM ----

/// Go's `pem.EncodeToMemory`.
pub fn pem_encode(kind: &str, der: &[u8]) -> String {
    let b64 = super::encoding::b64encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// A decoded PEM block.
pub struct Block {
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// Go's `pem.Decode`: the first well-formed block in `data` (headers are
/// skipped), or `None`.
pub fn pem_decode(data: &str) -> Option<Block> {
    let mut rest = data;
    loop {
        let start = rest.find("-----BEGIN ")?;
        // The BEGIN line must start a line.
        if start > 0 && !rest[..start].ends_with('\n') {
            rest = &rest[start + 11..];
            continue;
        }
        let after = &rest[start + 11..];
        let line_end = after.find('\n')?;
        let line = after[..line_end].trim_end_matches(['\r', ' ', '\t']);
        let Some(kind) = line.strip_suffix("-----") else {
            rest = after;
            continue;
        };
        let body = &after[line_end + 1..];
        let end_marker = format!("-----END {kind}-----");
        let Some(end) = body.find(&end_marker) else {
            rest = after;
            continue;
        };
        let mut content = &body[..end];
        // Skip RFC 1421 headers: "Key: value" lines up to a blank line.
        if content.lines().next().is_some_and(|l| l.contains(':')) {
            match content.find("\n\n").or_else(|| content.find("\r\n\r\n")) {
                Some(i) => content = &content[i..],
                None => {
                    rest = after;
                    continue;
                }
            }
        }
        let cleaned: String = content.chars().filter(|c| !c.is_whitespace()).collect();
        match super::encoding::b64decode(cleaned.as_bytes()) {
            Ok(bytes) => {
                return Some(Block {
                    kind: kind.to_string(),
                    bytes,
                });
            }
            Err(_) => {
                rest = after;
                continue;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trips() {
        let o = oid(&[1, 2, 840, 113549, 1, 1, 11]);
        assert_eq!(hex::encode(&o), "06092a864886f70d01010b");
        assert_eq!(
            Reader::new(&o).oid().unwrap(),
            vec![1, 2, 840, 113549, 1, 1, 11]
        );
        // DigitalSignature | KeyEncipherment, then with CertSign.
        assert_eq!(hex::encode(trimmed_bits(&[0xA0])), "030205a0");
        assert_eq!(hex::encode(trimmed_bits(&[0xA4])), "030202a4");
        let long = tlv(TAG_OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2C]);
        let e = Reader::new(&long).read().unwrap();
        assert_eq!(e.content.len(), 300);
        assert_eq!(hex::encode(uint(&BigUint::from(128u32))), "02020080");
    }

    #[test]
    fn pem_round_trips() {
        let der = vec![1u8; 100];
        let text = pem_encode("TEST", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        let b = pem_decode(&format!("junk\n{text}")).unwrap();
        assert_eq!(b.kind, "TEST");
        assert_eq!(b.bytes, der);
        assert!(pem_decode("no pem here").is_none());
    }
}
