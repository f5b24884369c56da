//! Hashes, randomness and crypto from Sprig (`crypto.go`, the random
//! string helpers of goutils, `uuidv4`).
//!
//! Random functions draw from the OS generator, as Sprig's do; their output
//! can never match a golden file, only its shape.

use rand::{Rng, RngCore};
use sha2::Digest;

use super::{FuncMap, Ty, add, i, s, sig};
use crate::value::Value;

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "sha256sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha2::Sha256::digest(
            s(&a[0]).as_bytes(),
        ))))
    });
    add(m, "sha512sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha2::Sha512::digest(
            s(&a[0]).as_bytes(),
        ))))
    });
    add(m, "sha1sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha1(s(&a[0]).as_bytes()))))
    });
    add(m, "adler32sum", sig(&[Str]), |_, a| {
        Ok(Value::str(adler32(s(&a[0]).as_bytes()).to_string()))
    });
    add(m, "randAlphaNum", sig(&[Int]), |_, a| {
        random_string(
            i(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    });
    add(m, "randAlpha", sig(&[Int]), |_, a| {
        random_string(
            i(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    });
    add(m, "randNumeric", sig(&[Int]), |_, a| {
        random_string(i(&a[0]), b"0123456789")
    });
    add(m, "randAscii", sig(&[Int]), |_, a| {
        let chars: Vec<u8> = (32u8..=126).collect();
        random_string(i(&a[0]), &chars)
    });
    add(m, "randBytes", sig(&[Int]), |_, a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err(super::err("runtime error: makeslice: len out of range"));
        }
        super::check_size(n as u128)?;
        let mut buf = vec![0u8; n as usize];
        rand::rng().fill_bytes(&mut buf);
        Ok(Value::str(super::encoding::b64encode(&buf)))
    });
    add(m, "uuidv4", sig(&[]), |_, _| Ok(Value::str(uuidv4())));
}

fn random_string(count: i64, alphabet: &[u8]) -> Result<Value, crate::error::GoError> {
    if count < 0 {
        return Err(super::err(format!(
            "Requested random string length {count} is less than 0."
        )));
    }
    super::check_size(count as u128)?;
    let mut rng = rand::rng();
    let s: String = (0..count)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect();
    Ok(Value::str(s))
}

/// A random u64 from the thread generator.
pub fn random_u64() -> u64 {
    rand::rng().random()
}

/// Fisher-Yates shuffle with the thread generator (xstrings `Shuffle`).
pub fn shuffle<T>(v: &mut [T]) {
    let mut rng = rand::rng();
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn uuidv4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `hash/adler32`.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// SHA-1 (FIPS 180-4), for `sha1sum`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for t in 0..16 {
            w[t] = u32::from_be_bytes([
                block[4 * t],
                block[4 * t + 1],
                block[4 * t + 2],
                block[4 * t + 3],
            ]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (k, x) in h.iter().enumerate() {
        out[4 * k..4 * k + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(adler32(b"Wikipedia"), 0x11E60398);
    }
}
