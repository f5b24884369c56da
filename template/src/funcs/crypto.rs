//! Hashes, randomness and crypto from Sprig (`crypto.go`, the random
//! string helpers of goutils, `uuidv4`): `bcrypt`/`htpasswd` (Go's
//! `x/crypto/bcrypt`, `$2a$`, cost 10), `derivePassword` (the Master
//! Password algorithm over scrypt), and `encryptAES`/`decryptAES`
//! (AES-256-CBC, PKCS #7 padding, the IV in front, base64). Certificates
//! and keys live in `pki`.
//!
//! Random functions draw from the OS generator, as Sprig's do; their output
//! can never match a golden file, only its shape.

use rand::{Rng, RngCore};
use sha2::Digest;

use super::{FuncMap, Ty, add, i, s, sig};
use crate::value::Value;

/// The Go bytes of a string argument.
fn bytes(v: &Value) -> std::borrow::Cow<'_, [u8]> {
    crate::value::gostr::to_bytes(s(v))
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "sha256sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha2::Sha256::digest(bytes(&a[0])))))
    });
    add(m, "sha512sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha2::Sha512::digest(bytes(&a[0])))))
    });
    add(m, "sha1sum", sig(&[Str]), |_, a| {
        Ok(Value::str(hex::encode(sha1(&bytes(&a[0])))))
    });
    add(m, "adler32sum", sig(&[Str]), |_, a| {
        Ok(Value::str(adler32(&bytes(&a[0])).to_string()))
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
    add(m, "bcrypt", sig(&[Str]), |_, a| {
        Ok(Value::str(bcrypt(s(&a[0]))))
    });
    // Sprig v3.3.0's htpasswd takes a user and a password (bcrypt only).
    add(m, "htpasswd", sig(&[Str, Str]), |_, a| {
        let user = s(&a[0]);
        if user.contains(':') {
            return Ok(Value::str(format!("invalid username: {user}")));
        }
        Ok(Value::str(format!("{user}:{}", bcrypt(s(&a[1])))))
    });
    add(
        m,
        "derivePassword",
        sig(&[Uint32, Str, Str, Str, Str]),
        |_, a| {
            let counter = match a[0] {
                Value::Uint(u) => u as u32,
                Value::Int(i) | Value::Int64(i) => i as u32,
                _ => 0,
            };
            Ok(Value::str(derive_password(
                counter,
                s(&a[1]),
                s(&a[2]),
                s(&a[3]),
                s(&a[4]),
            )))
        },
    );
    add(m, "encryptAES", sig(&[Str, Str]), |_, a| {
        encrypt_aes(s(&a[0]), s(&a[1])).map(Value::str)
    });
    add(m, "decryptAES", sig(&[Str, Str]), |_, a| {
        decrypt_aes(s(&a[0]), s(&a[1])).map(Value::str)
    });
}

// ---- bcrypt ----

const BCRYPT_ALPHABET: &[u8; 64] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// bcrypt's base64: its own alphabet, no padding.
fn bcrypt_b64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut n = 0u32;
        for (k, &b) in chunk.iter().enumerate() {
            n |= u32::from(b) << (16 - 8 * k);
        }
        for k in 0..=chunk.len() {
            out.push(BCRYPT_ALPHABET[(n >> (18 - 6 * k)) as usize & 63] as char);
        }
    }
    out
}

/// Sprig's `bcrypt`: Go's `bcrypt.GenerateFromPassword(input, 10)`; the
/// error text is the result on failure.
fn bcrypt(input: &str) -> String {
    match bcrypt_hash(input.as_bytes(), 10) {
        Ok(h) => h,
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

fn bcrypt_hash(password: &[u8], cost: u32) -> Result<String, String> {
    if password.len() > 72 {
        return Err("bcrypt: password length exceeds 72 bytes".into());
    }
    let salt = super::pki::random_bytes(16).map_err(|e| e.msg)?;
    // Go keeps the trailing NUL in the key, and (unlike C bcrypt) cycles
    // over all of it even for a 72-byte password.
    let mut key = password.to_vec();
    key.push(0);
    let mut c = blowfish::Blowfish::bc_init_state();
    c.salted_expand_key(&salt, &key);
    for _ in 0..(1u64 << cost) {
        c.bc_expand_key(&key);
        c.bc_expand_key(&salt);
    }
    let mut data = *b"OrpheanBeholderScryDoubt";
    for block in data.chunks_mut(8) {
        let mut lr = [
            u32::from_be_bytes([block[0], block[1], block[2], block[3]]),
            u32::from_be_bytes([block[4], block[5], block[6], block[7]]),
        ];
        for _ in 0..64 {
            lr = c.bc_encrypt(lr);
        }
        block[..4].copy_from_slice(&lr[0].to_be_bytes());
        block[4..].copy_from_slice(&lr[1].to_be_bytes());
    }
    // Only 23 of the 24 bytes are encoded, like C bcrypt.
    Ok(format!(
        "$2a${cost:02}${}{}",
        bcrypt_b64(&salt),
        bcrypt_b64(&data[..23])
    ))
}

// ---- derivePassword (Master Password over scrypt) ----

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = sha2::Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// PBKDF2-HMAC-SHA256 with one iteration (all scrypt needs).
fn pbkdf2_sha256_once(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block = 1u32;
    while out.len() < len {
        let mut msg = salt.to_vec();
        msg.extend_from_slice(&block.to_be_bytes());
        out.extend_from_slice(&hmac_sha256(password, &msg));
        block += 1;
    }
    out.truncate(len);
    out
}

fn salsa20_8(b: &mut [u32; 16]) {
    let mut x = *b;
    for _ in 0..4 {
        let qr = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
            x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
            x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
            x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
            x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
        };
        qr(&mut x, 0, 4, 8, 12);
        qr(&mut x, 5, 9, 13, 1);
        qr(&mut x, 10, 14, 2, 6);
        qr(&mut x, 15, 3, 7, 11);
        qr(&mut x, 0, 1, 2, 3);
        qr(&mut x, 5, 6, 7, 4);
        qr(&mut x, 10, 11, 8, 9);
        qr(&mut x, 15, 12, 13, 14);
    }
    for (o, v) in b.iter_mut().zip(x) {
        *o = o.wrapping_add(v);
    }
}

/// scrypt's BlockMix over 2r 64-byte blocks (as words).
fn block_mix(b: &[u32], y: &mut [u32], r: usize) {
    let mut x = [0u32; 16];
    x.copy_from_slice(&b[(2 * r - 1) * 16..]);
    for i in 0..2 * r {
        for (xv, bv) in x.iter_mut().zip(&b[i * 16..(i + 1) * 16]) {
            *xv ^= bv;
        }
        salsa20_8(&mut x);
        // Even blocks first, then odd ones.
        let dst = if i % 2 == 0 { i / 2 } else { r + i / 2 };
        y[dst * 16..(dst + 1) * 16].copy_from_slice(&x);
    }
}

/// scrypt (RFC 7914).
fn scrypt(password: &[u8], salt: &[u8], n: usize, r: usize, p: usize, len: usize) -> Vec<u8> {
    let mut b = pbkdf2_sha256_once(password, salt, p * 128 * r);
    let words = 32 * r;
    let mut v = vec![0u32; n * words];
    let mut x = vec![0u32; words];
    let mut y = vec![0u32; words];
    for chunk in b.chunks_mut(128 * r) {
        for (w, c) in x.iter_mut().zip(chunk.chunks(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 0..n {
            v[i * words..(i + 1) * words].copy_from_slice(&x);
            block_mix(&x, &mut y, r);
            std::mem::swap(&mut x, &mut y);
        }
        for _ in 0..n {
            let j = x[(2 * r - 1) * 16] as usize & (n - 1);
            for (xv, vv) in x.iter_mut().zip(&v[j * words..(j + 1) * words]) {
                *xv ^= vv;
            }
            block_mix(&x, &mut y, r);
            std::mem::swap(&mut x, &mut y);
        }
        for (c, w) in chunk.chunks_mut(4).zip(&x) {
            c.copy_from_slice(&w.to_le_bytes());
        }
    }
    pbkdf2_sha256_once(password, &b, len)
}

/// Sprig's `derivePassword` (the Master Password algorithm).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let templates: &[&str] = match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return format!("cannot find password template {kind}"),
    };
    let chars = |c: u8| -> &'static [u8] {
        match c {
            b'V' => b"AEIOU",
            b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
            b'v' => b"aeiou",
            b'c' => b"bcdfghjklmnpqrstvwxyz",
            b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
            b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
            b'n' => b"0123456789",
            b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
            _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        }
    };
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let key = scrypt(password.as_bytes(), &salt, 32768, 8, 2, 64);
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let seed = hmac_sha256(&key, &msg);
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    template
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let set = chars(c);
            set[seed[i + 1] as usize % set.len()] as char
        })
        .collect()
}

// ---- AES ----

fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit;
    let mut key = [0u8; 32];
    let p = password.as_bytes();
    let n = p.len().min(32);
    key[..n].copy_from_slice(&p[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig's `encryptAES`: AES-256-CBC with a random IV in front, base64.
fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, crate::error::GoError> {
    use aes::cipher::BlockEncrypt;
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let cipher = aes_key(password);
    let mut content = crate::value::gostr::to_bytes(plaintext).into_owned();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = super::pki::random_bytes(16)?;
    let mut prev: [u8; 16] = out[..16].try_into().unwrap_or([0; 16]);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (k, b) in block.iter_mut().enumerate() {
            *b = chunk[k] ^ prev[k];
        }
        let mut ga = block.into();
        cipher.encrypt_block(&mut ga);
        prev = ga.into();
        out.extend_from_slice(&prev);
    }
    Ok(super::encoding::b64encode(&out))
}

/// Sprig's `decryptAES`, including the runtime panics Go turns into
/// errors for short or malformed input.
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, crate::error::GoError> {
    use aes::cipher::BlockDecrypt;
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = super::encoding::b64decode(crypt64.as_bytes()).map_err(super::err)?;
    if crypt.len() < 16 {
        // DecodeString's buffer has DecodedLen capacity.
        let capacity = crypt64.len() / 4 * 3;
        return Err(super::err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {capacity}"
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(super::err("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let block: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
        let mut ga = block.into();
        cipher.decrypt_block(&mut ga);
        let plain: [u8; 16] = ga.into();
        out.extend(plain.iter().zip(prev).map(|(a, b)| a ^ b));
        prev = block;
    }
    let Some(&pad) = out.last() else {
        return Err(super::err("runtime error: index out of range [-1]"));
    };
    let end = out.len() as i64 - pad as i64;
    if end < 0 {
        return Err(super::err(format!(
            "runtime error: slice bounds out of range [:{end}]"
        )));
    }
    out.truncate(end as usize);
    Ok(crate::value::gostr::from_bytes(&out))
}

fn random_string(count: i64, alphabet: &[u8]) -> Result<Value, crate::error::GoError> {
    // Sprig drops the generator's error ("Requested random string length
    // -1 is less than 0.") and uses the empty string it came with.
    if count < 0 {
        return Ok(Value::str(""));
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
