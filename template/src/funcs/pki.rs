//! Sprig's key and certificate functions (`crypto.go`): `genPrivateKey`,
//! `genCA`, `genSelfSignedCert`, `genSignedCert`, their `…WithKey`
//! variants and `buildCustomCert`.
//!
//! Certificates are built the way Go's `x509.CreateCertificate` builds them
//! from Sprig's template: v3, a random 128-bit serial, the subject holding
//! only the common name, key usages (plus cert signing for CAs), server and
//! client auth, basic constraints, a subject key id (SHA-256 of the key,
//! truncated to 160 bits) for CAs, the issuer's key id as authority key id,
//! and DNS/IP alternative names. RSA keys (generated here: 2048 bits for
//! certificates, 4096 for `genPrivateKey`) sign with PKCS #1 v1.5 SHA-256,
//! ECDSA P-256/P-384 keys with ECDSA and Ed25519 keys with Ed25519 — all
//! as Go picks. Keys come back as Sprig writes them: `RSA PRIVATE KEY`
//! (PKCS #1), `EC PRIVATE KEY` (SEC 1), `DSA PRIVATE KEY`, or PKCS #8
//! `PRIVATE KEY` for Ed25519.
//!
//! The output is random (fresh keys, serials and timestamps), so it can only
//! be compared with Helm's in shape, never byte for byte.

use num_bigint::BigUint;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as sig_alg, KeyPair};
use sha2::Digest;

use super::der::{self, Reader};
use super::{FuncMap, Ty, add, i, s, sig};
use crate::error::GoError;
use crate::value::{Object, Value};

type R = Result<Value, GoError>;

/// Sprig's `certificate` struct: PEM text of a certificate and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "genPrivateKey", sig(&[Str]), |_, a| {
        Ok(Value::str(generate_private_key(s(&a[0]))))
    });
    add(m, "buildCustomCert", sig(&[Str, Str]), |_, a| {
        build_custom_cert(s(&a[0]), s(&a[1]))
    });
    add(m, "genCA", sig(&[Str, Int]), |_, a| {
        let key = PrivateKey::Rsa(gen_rsa(2048)?);
        gen_ca(s(&a[0]), i(&a[1]), key)
    });
    add(m, "genCAWithKey", sig(&[Str, Int, Str]), |_, a| {
        let key = parse_private_key_pem(s(&a[2]))
            .map_err(|e| super::err(format!("parsing private key: {e}")))?;
        gen_ca(s(&a[0]), i(&a[1]), key)
    });
    add(
        m,
        "genSelfSignedCert",
        sig(&[Str, Slice, Slice, Int]),
        |_, a| {
            let key = PrivateKey::Rsa(gen_rsa(2048)?);
            gen_self_signed(s(&a[0]), &a[1], &a[2], i(&a[3]), key)
        },
    );
    add(
        m,
        "genSelfSignedCertWithKey",
        sig(&[Str, Slice, Slice, Int, Str]),
        |_, a| {
            let key = parse_private_key_pem(s(&a[4]))
                .map_err(|e| super::err(format!("parsing private key: {e}")))?;
            gen_self_signed(s(&a[0]), &a[1], &a[2], i(&a[3]), key)
        },
    );
    add(
        m,
        "genSignedCert",
        sig(&[Str, Slice, Slice, Int, Cert]),
        |_, a| {
            let key = PrivateKey::Rsa(gen_rsa(2048)?);
            gen_signed(s(&a[0]), &a[1], &a[2], i(&a[3]), &a[4], key)
        },
    );
    add(
        m,
        "genSignedCertWithKey",
        sig(&[Str, Slice, Slice, Int, Cert, Str]),
        |_, a| {
            let key = parse_private_key_pem(s(&a[5]))
                .map_err(|e| super::err(format!("parsing private key: {e}")))?;
            gen_signed(s(&a[0]), &a[1], &a[2], i(&a[3]), &a[4], key)
        },
    );
}

fn cert_value(cert: String, key: String) -> Value {
    Value::object(Object::Certificate(Certificate { cert, key }))
}

// ---- randomness ----

pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, GoError> {
    let mut buf = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| super::err("crypto/rand: failed to read random data"))?;
    Ok(buf)
}

/// A uniformly random number below `bound` (Go's `rand.Int`).
fn random_below(bound: &BigUint) -> Result<BigUint, GoError> {
    let bits = bound.bits() as usize;
    let bytes = bits.div_ceil(8);
    loop {
        let mut buf = random_bytes(bytes)?;
        let extra = bytes * 8 - bits;
        if extra > 0 {
            buf[0] &= 0xFF >> extra;
        }
        let n = BigUint::from_bytes_be(&buf);
        if &n < bound {
            return Ok(n);
        }
    }
}

// ---- primes ----

/// Odd primes below 2^16, for sieving candidates before Miller–Rabin.
fn small_primes() -> &'static [u32] {
    static PRIMES: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    PRIMES.get_or_init(|| {
        const N: usize = 1 << 16;
        let mut composite = vec![false; N];
        let mut primes = Vec::new();
        for n in 2..N {
            if composite[n] {
                continue;
            }
            if n > 2 {
                primes.push(n as u32);
            }
            for m in (n * n..N).step_by(n) {
                composite[m] = true;
            }
        }
        primes
    })
}

/// Miller–Rabin with `rounds` random bases.
fn probably_prime(n: &BigUint, rounds: usize) -> Result<bool, GoError> {
    let one = BigUint::from(1u32);
    let two = BigUint::from(2u32);
    if n < &BigUint::from(4u32) {
        return Ok(n == &two || n == &BigUint::from(3u32));
    }
    let n_minus_1 = n - &one;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let bound = n - &BigUint::from(3u32);
    'rounds: for _ in 0..rounds {
        let a = random_below(&bound)? + &two;
        let mut x = a.modpow(&d, n);
        if x == one || x == n_minus_1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&two, n);
            if x == n_minus_1 {
                continue 'rounds;
            }
            if x == one {
                return Ok(false);
            }
        }
        return Ok(false);
    }
    Ok(true)
}

/// A random prime of exactly `bits` bits with its top two bits set (so a
/// product of two has exactly twice the bits), searched incrementally from
/// a random odd start with a small-prime sieve.
fn random_prime(bits: usize) -> Result<BigUint, GoError> {
    let rounds = if bits >= 1024 { 4 } else { 5 };
    loop {
        let mut buf = random_bytes(bits.div_ceil(8))?;
        let extra = buf.len() * 8 - bits;
        buf[0] &= 0xFF >> extra;
        buf[0] |= 0xC0 >> extra;
        if extra > 6 {
            buf[1] |= 0x80;
        }
        let last = buf.len() - 1;
        buf[last] |= 1;
        let base = BigUint::from_bytes_be(&buf);
        let primes = small_primes();
        let residues: Vec<u32> = primes
            .iter()
            .map(|&p| u32::try_from(&base % p).unwrap_or(0))
            .collect();
        let mut delta: u32 = 0;
        while delta < 1 << 20 {
            let sieved = primes
                .iter()
                .zip(&residues)
                .all(|(&p, &r)| !(r + delta).is_multiple_of(p));
            if sieved {
                let candidate = &base + delta;
                if candidate.bits() as usize != bits {
                    break;
                }
                if probably_prime(&candidate, rounds)? {
                    return Ok(candidate);
                }
            }
            delta += 2;
        }
    }
}

// ---- RSA ----

#[derive(Debug, Clone)]
pub struct RsaKey {
    n: BigUint,
    e: BigUint,
    d: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
}

fn gen_rsa(bits: usize) -> Result<RsaKey, GoError> {
    let e = BigUint::from(65537u32);
    let one = BigUint::from(1u32);
    loop {
        let p = random_prime(bits / 2)?;
        let q = random_prime(bits - bits / 2)?;
        if p == q {
            continue;
        }
        // |p - q| must not be tiny (FIPS 186-4 B.3.3).
        let diff = if p > q { &p - &q } else { &q - &p };
        if diff.bits() as usize <= bits / 2 - 100 {
            continue;
        }
        let n = &p * &q;
        if n.bits() as usize != bits {
            continue;
        }
        let p1 = &p - &one;
        let q1 = &q - &one;
        let lambda = {
            let g = gcd(&p1, &q1);
            &p1 / &g * &q1
        };
        let Some(d) = e.modinv(&lambda) else {
            continue;
        };
        let Some(qinv) = q.modinv(&p) else {
            continue;
        };
        let dp = &d % &p1;
        let dq = &d % &q1;
        return Ok(RsaKey {
            n,
            e,
            d,
            p,
            q,
            dp,
            dq,
            qinv,
        });
    }
}

fn gcd(a: &BigUint, b: &BigUint) -> BigUint {
    let (mut a, mut b) = (a.clone(), b.clone());
    while b != BigUint::from(0u32) {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

impl RsaKey {
    /// `x509.MarshalPKCS1PrivateKey`.
    fn pkcs1(&self) -> Vec<u8> {
        der::seq(&[
            der::small_int(0),
            der::uint(&self.n),
            der::uint(&self.e),
            der::uint(&self.d),
            der::uint(&self.p),
            der::uint(&self.q),
            der::uint(&self.dp),
            der::uint(&self.dq),
            der::uint(&self.qinv),
        ])
    }

    fn parse_pkcs1(data: &[u8]) -> Result<RsaKey, String> {
        let mut outer = Reader::new(data);
        let mut r = outer.sequence().map_err(|_| {
            "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"
                .to_string()
        })?;
        if r.small_uint()? != 0 {
            return Err("x509: unsupported private key version".into());
        }
        let key = RsaKey {
            n: r.uint()?,
            e: r.uint()?,
            d: r.uint()?,
            p: r.uint()?,
            q: r.uint()?,
            dp: r.uint()?,
            dq: r.uint()?,
            qinv: r.uint()?,
        };
        if key.n.bits() < 512 || &key.p * &key.q != key.n {
            return Err("crypto/rsa: invalid key".into());
        }
        Ok(key)
    }

    /// `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }`.
    fn public_der(&self) -> Vec<u8> {
        der::seq(&[der::uint(&self.n), der::uint(&self.e)])
    }

    /// PKCS #1 v1.5 signature of SHA-256(msg), computed with the CRT.
    fn sign_sha256(&self, msg: &[u8]) -> Vec<u8> {
        let k = (self.n.bits() as usize).div_ceil(8);
        let digest_info_prefix: [u8; 19] = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ];
        let hash = sha2::Sha256::digest(msg);
        let t_len = digest_info_prefix.len() + hash.len();
        let mut em = vec![0xFFu8; k];
        em[0] = 0;
        em[1] = 1;
        em[k - t_len - 1] = 0;
        em[k - t_len..k - hash.len()].copy_from_slice(&digest_info_prefix);
        em[k - hash.len()..].copy_from_slice(&hash);
        let m = BigUint::from_bytes_be(&em);
        let m1 = m.modpow(&self.dp, &self.p);
        let m2 = m.modpow(&self.dq, &self.q);
        let diff = (&m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let sig = m2 + h * &self.q;
        let mut out = sig.to_bytes_be();
        while out.len() < k {
            out.insert(0, 0);
        }
        out
    }
}

// ---- EC, Ed25519, DSA ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => &[1, 2, 840, 10045, 3, 1, 7],
            Curve::P384 => &[1, 3, 132, 0, 34],
            Curve::P521 => &[1, 3, 132, 0, 35],
        }
    }

    fn from_oid(arcs: &[u64]) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.oid() == arcs)
    }

    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EcKey {
    curve: Curve,
    private: Vec<u8>,
    public: Vec<u8>,
}

impl EcKey {
    /// `x509.MarshalECPrivateKey`.
    fn sec1(&self) -> Vec<u8> {
        der::seq(&[
            der::small_int(1),
            der::octets(&self.private),
            der::explicit(0, &der::oid(self.curve.oid())),
            der::explicit(1, &der::bits(&self.public)),
        ])
    }

    /// SEC 1 `ECPrivateKey`; `curve` comes from PKCS #8 when wrapped.
    fn parse_sec1(data: &[u8], curve: Option<Curve>) -> Result<EcKey, String> {
        let mut r = Reader::new(data)
            .sequence()
            .map_err(|e| format!("x509: failed to parse EC private key: {e}"))?;
        let version = r.small_uint()?;
        if version != 1 {
            return Err(format!("x509: unknown EC private key version {version}"));
        }
        let private = r.octets()?.to_vec();
        let mut curve = curve;
        let mut public = None;
        while !r.is_empty() {
            let e = r.read()?;
            match e.tag {
                0xA0 => {
                    let arcs = Reader::new(e.content).oid()?;
                    curve = Some(Curve::from_oid(&arcs).ok_or("x509: unknown elliptic curve")?);
                }
                0xA1 => public = Some(Reader::new(e.content).bits()?.to_vec()),
                _ => {}
            }
        }
        let curve = curve.ok_or("x509: unknown elliptic curve")?;
        let mut private = private;
        while private.len() < curve.scalar_len() {
            private.insert(0, 0);
        }
        let public = public
            .ok_or("x509: EC private keys without their public key are not supported by berth")?;
        Ok(EcKey {
            curve,
            private,
            public,
        })
    }

    fn signing_alg(&self) -> Result<&'static sig_alg::EcdsaSigningAlgorithm, String> {
        match self.curve {
            Curve::P256 => Ok(&sig_alg::ECDSA_P256_SHA256_ASN1_SIGNING),
            Curve::P384 => Ok(&sig_alg::ECDSA_P384_SHA384_ASN1_SIGNING),
            Curve::P521 => Err("x509: P-521 keys are not supported by berth".into()),
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        let pair = sig_alg::EcdsaKeyPair::from_private_key_and_public_key(
            self.signing_alg()?,
            &self.private,
            &self.public,
            &rng,
        )
        .map_err(|e| format!("x509: invalid EC private key: {e}"))?;
        pair.sign(&rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "x509: ECDSA signing failed".to_string())
    }
}

#[derive(Debug, Clone)]
pub struct DsaKey {
    p: BigUint,
    q: BigUint,
    g: BigUint,
    y: BigUint,
    x: BigUint,
}

impl DsaKey {
    /// Sprig's `DSAKeyFormat`.
    fn der(&self) -> Vec<u8> {
        der::seq(&[
            der::small_int(0),
            der::uint(&self.p),
            der::uint(&self.q),
            der::uint(&self.g),
            der::uint(&self.y),
            der::uint(&self.x),
        ])
    }

    fn parse(data: &[u8]) -> Result<DsaKey, String> {
        let mut r = Reader::new(data).sequence()?;
        r.small_uint()?;
        Ok(DsaKey {
            p: r.uint()?,
            q: r.uint()?,
            g: r.uint()?,
            y: r.uint()?,
            x: r.uint()?,
        })
    }
}

/// Go's `dsa.GenerateParameters(L2048N256)` and `dsa.GenerateKey`.
fn gen_dsa() -> Result<DsaKey, GoError> {
    let (l, n) = (2048usize, 256usize);
    let one = BigUint::from(1u32);
    let (p, q) = 'outer: loop {
        let mut qb = random_bytes(n / 8)?;
        qb[n / 8 - 1] |= 1;
        qb[0] |= 0x80;
        let q = BigUint::from_bytes_be(&qb);
        if !probably_prime(&q, 20)? {
            continue;
        }
        for _ in 0..4 * l {
            let mut pb = random_bytes(l / 8)?;
            pb[l / 8 - 1] |= 1;
            pb[0] |= 0x80;
            let p = BigUint::from_bytes_be(&pb);
            let rem = &p % &q;
            let p = p - rem + &one;
            if (p.bits() as usize) < l {
                continue;
            }
            let sieved = small_primes()
                .iter()
                .take(300)
                .all(|&sp| &p % sp != BigUint::from(0u32));
            if !sieved || !probably_prime(&p, 20)? {
                continue;
            }
            break 'outer (p, q);
        }
    };
    let e = (&p - &one) / &q;
    let mut h = BigUint::from(2u32);
    let g = loop {
        let g = h.modpow(&e, &p);
        if g != one {
            break g;
        }
        h += 1u32;
    };
    let x = loop {
        let x = BigUint::from_bytes_be(&random_bytes(q.bits() as usize / 8)?);
        if x != BigUint::from(0u32) && x < q {
            break x;
        }
    };
    let y = g.modpow(&x, &p);
    Ok(DsaKey { p, q, g, y, x })
}

/// A private key of any kind Sprig handles.
#[derive(Debug, Clone)]
pub enum PrivateKey {
    Rsa(RsaKey),
    Ec(EcKey),
    /// The 32-byte seed.
    Ed25519(Vec<u8>),
    Dsa(DsaKey),
}

const OID_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const OID_EC: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];

impl PrivateKey {
    /// Sprig's `pemBlockForKey`.
    fn pem(&self) -> String {
        match self {
            PrivateKey::Rsa(k) => der::pem_encode("RSA PRIVATE KEY", &k.pkcs1()),
            PrivateKey::Ec(k) => der::pem_encode("EC PRIVATE KEY", &k.sec1()),
            PrivateKey::Dsa(k) => der::pem_encode("DSA PRIVATE KEY", &k.der()),
            PrivateKey::Ed25519(seed) => {
                let pkcs8 = der::seq(&[
                    der::small_int(0),
                    der::seq(&[der::oid(OID_ED25519)]),
                    der::octets(&der::octets(seed)),
                ]);
                der::pem_encode("PRIVATE KEY", &pkcs8)
            }
        }
    }

    /// The public key as a `SubjectPublicKeyInfo`.
    fn public_key_info(&self) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(k) => Ok(der::seq(&[
                der::seq(&[der::oid(OID_RSA), der::null()]),
                der::bits(&k.public_der()),
            ])),
            PrivateKey::Ec(k) => Ok(der::seq(&[
                der::seq(&[der::oid(OID_EC), der::oid(k.curve.oid())]),
                der::bits(&k.public),
            ])),
            PrivateKey::Ed25519(seed) => {
                let pair = sig_alg::Ed25519KeyPair::from_seed_unchecked(seed)
                    .map_err(|_| "ed25519: bad private key length".to_string())?;
                Ok(der::seq(&[
                    der::seq(&[der::oid(OID_ED25519)]),
                    der::bits(pair.public_key().as_ref()),
                ]))
            }
            PrivateKey::Dsa(_) => Err("x509: unsupported public key type: *dsa.PublicKey".into()),
        }
    }

    /// The signature `AlgorithmIdentifier` Go picks for the key.
    fn signature_algorithm(&self) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(_) => Ok(der::seq(&[
                der::oid(&[1, 2, 840, 113549, 1, 1, 11]),
                der::null(),
            ])),
            PrivateKey::Ec(k) => Ok(der::seq(&[der::oid(match k.curve {
                Curve::P256 => &[1, 2, 840, 10045, 4, 3, 2],
                Curve::P384 => &[1, 2, 840, 10045, 4, 3, 3],
                Curve::P521 => &[1, 2, 840, 10045, 4, 3, 4],
            })])),
            PrivateKey::Ed25519(_) => Ok(der::seq(&[der::oid(OID_ED25519)])),
            PrivateKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(k) => Ok(k.sign_sha256(msg)),
            PrivateKey::Ec(k) => k.sign(msg),
            PrivateKey::Ed25519(seed) => {
                let pair = sig_alg::Ed25519KeyPair::from_seed_unchecked(seed)
                    .map_err(|_| "ed25519: bad private key length".to_string())?;
                Ok(pair.sign(msg).as_ref().to_vec())
            }
            PrivateKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }
}

/// `x509.ParsePKCS8PrivateKey`.
fn parse_pkcs8(data: &[u8]) -> Result<PrivateKey, String> {
    let mut r = Reader::new(data).sequence().map_err(|_| {
        "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
            .to_string()
    })?;
    r.small_uint()?;
    let mut alg = r.sequence()?;
    let arcs = alg.oid()?;
    let key = r.octets()?;
    if arcs == OID_RSA {
        return RsaKey::parse_pkcs1(key)
            .map(PrivateKey::Rsa)
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"));
    }
    if arcs == OID_EC {
        let curve = match alg.optional(der::TAG_OID)? {
            Some(e) => Curve::from_oid(&der::parse_oid(e.content)?),
            None => None,
        };
        return EcKey::parse_sec1(key, curve)
            .map(PrivateKey::Ec)
            .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"));
    }
    if arcs == OID_ED25519 {
        let seed = Reader::new(key)
            .octets()
            .map_err(|e| format!("x509: invalid Ed25519 private key: {e}"))?;
        if seed.len() != 32 {
            return Err(format!(
                "x509: invalid Ed25519 private key length: {}",
                seed.len()
            ));
        }
        return Ok(PrivateKey::Ed25519(seed.to_vec()));
    }
    Err(format!(
        "x509: PKCS#8 wrapping contained private key with unknown algorithm: {}",
        der::oid_string(&arcs)
    ))
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_private_key_pem(text: &str) -> Result<PrivateKey, String> {
    let Some(block) = der::pem_decode(text) else {
        return Err("no PEM data in input".into());
    };
    if block.kind == "PRIVATE KEY" {
        return parse_pkcs8(&block.bytes).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(kind) = block.kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!(
            "no private key data in PEM block of type {}",
            block.kind
        ));
    };
    match kind {
        "RSA" => RsaKey::parse_pkcs1(&block.bytes)
            .map(PrivateKey::Rsa)
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => EcKey::parse_sec1(&block.bytes, None)
            .map(PrivateKey::Ec)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" => DsaKey::parse(&block.bytes)
            .map(PrivateKey::Dsa)
            .map_err(|e| format!("parsing DSA private key from PEM: {e}")),
        _ => Err(format!("invalid private key type {}", block.kind)),
    }
}

/// Sprig's `generatePrivateKey`: errors come back as the result text.
fn generate_private_key(typ: &str) -> String {
    let key = match typ {
        "" | "rsa" => gen_rsa(4096).map(PrivateKey::Rsa),
        "dsa" => match gen_dsa() {
            Ok(k) => Ok(PrivateKey::Dsa(k)),
            Err(e) => return format!("failed to generate dsa params: {}", e.msg),
        },
        "ecdsa" => gen_ec_p256(),
        "ed25519" => random_bytes(32).map(PrivateKey::Ed25519),
        _ => return format!("Unknown type {typ}"),
    };
    match key {
        Ok(k) => k.pem(),
        Err(e) => format!("failed to generate private key: {}", e.msg),
    }
}

fn gen_ec_p256() -> Result<PrivateKey, GoError> {
    let rng = SystemRandom::new();
    let doc = sig_alg::EcdsaKeyPair::generate_pkcs8(&sig_alg::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| super::err("failed to generate private key"))?;
    parse_pkcs8(doc.as_ref()).map_err(super::err)
}

// ---- certificates ----

/// The parts of a parsed certificate that signing with it needs.
struct ParsedCert {
    subject: Vec<u8>,
    public_key_info: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
}

/// `x509.ParseCertificate`, reduced to a structural check and the fields
/// above.
fn parse_certificate(data: &[u8]) -> Result<ParsedCert, String> {
    let malformed = |e: String| format!("x509: malformed certificate ({e})");
    let mut outer = Reader::new(data);
    let mut cert = outer.sequence().map_err(malformed)?;
    if !outer.is_empty() {
        return Err("x509: trailing data".into());
    }
    let mut tbs = cert.sequence().map_err(malformed)?;
    cert.sequence().map_err(malformed)?;
    cert.expect(der::TAG_BIT_STRING).map_err(malformed)?;
    tbs.optional(0xA0).map_err(malformed)?;
    tbs.expect(der::TAG_INTEGER).map_err(malformed)?;
    tbs.sequence().map_err(malformed)?;
    tbs.expect(der::TAG_SEQUENCE).map_err(malformed)?;
    tbs.sequence().map_err(malformed)?;
    let subject = tbs
        .expect(der::TAG_SEQUENCE)
        .map_err(malformed)?
        .raw
        .to_vec();
    let public_key_info = tbs
        .expect(der::TAG_SEQUENCE)
        .map_err(malformed)?
        .raw
        .to_vec();
    let mut subject_key_id = None;
    while !tbs.is_empty() {
        let e = tbs.read().map_err(malformed)?;
        if e.tag != 0xA3 {
            continue;
        }
        let mut exts = Reader::new(e.content).sequence().map_err(malformed)?;
        while !exts.is_empty() {
            let mut ext = exts.sequence().map_err(malformed)?;
            let id = ext.oid().map_err(malformed)?;
            ext.optional(der::TAG_BOOLEAN).map_err(malformed)?;
            let value = ext.octets().map_err(malformed)?;
            if id == [2, 5, 29, 14] {
                subject_key_id = Some(Reader::new(value).octets().map_err(malformed)?.to_vec());
            }
        }
    }
    Ok(ParsedCert {
        subject,
        public_key_info,
        subject_key_id,
    })
}

/// Go's `net.ParseIP`, as the bytes `x509` writes (4 for IPv4 and
/// IPv4-mapped addresses, else 16).
fn parse_ip(text: &str) -> Option<Vec<u8>> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.octets().to_vec()),
        std::net::IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets().to_vec(),
        }),
    }
}

/// Sprig's `getNetIPs`.
fn net_ips(v: &Value) -> Result<Vec<Vec<u8>>, GoError> {
    let Value::List(l) = v else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|ip| {
            let Value::String(text) = ip else {
                return Err(super::err(format!(
                    "error parsing ip: {} is not a string",
                    crate::gofmt::sprint_value(ip)
                )));
            };
            parse_ip(text).ok_or_else(|| super::err(format!("error parsing ip: {text}")))
        })
        .collect()
}

/// Sprig's `getAlternateDNSStrs`.
fn dns_names(v: &Value) -> Result<Vec<String>, GoError> {
    let Value::List(l) = v else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|d| match d {
            Value::String(text) => Ok(text.to_string()),
            other => Err(super::err(format!(
                "error processing alternate dns name: {} is not a string",
                crate::gofmt::sprint_value(other)
            ))),
        })
        .collect()
}

/// Sprig's `getBaseCertTemplate` plus the CA overrides.
struct Template {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// Go's `asn1` time: UTCTime for 1950–2049, else GeneralizedTime.
fn asn1_time(t: &crate::funcs::dates::GoTime) -> Result<Vec<u8>, String> {
    let utc = crate::funcs::dates::GoTime {
        offset: 0,
        abbr: "UTC".into(),
        ..t.clone()
    };
    let year: i64 = crate::funcs::dates::format_time(&utc, "2006")
        .parse()
        .unwrap_or(0);
    if (1950..2050).contains(&year) {
        Ok(der::tlv(
            der::TAG_UTC_TIME,
            crate::funcs::dates::format_time(&utc, "060102150405Z").as_bytes(),
        ))
    } else if (0..=9999).contains(&year) {
        Ok(der::tlv(
            der::TAG_GENERALIZED_TIME,
            crate::funcs::dates::format_time(&utc, "20060102150405Z").as_bytes(),
        ))
    } else {
        Err("asn1: cannot represent time as GeneralizedTime".into())
    }
}

/// `x509.CreateCertificate(rand, template, parent, pub(signee), signer)`.
fn create_certificate(
    t: &Template,
    signee: &PrivateKey,
    parent: Option<&ParsedCert>,
    signer: &PrivateKey,
) -> Result<String, String> {
    // Sprig's serial: rand.Int below 2^128.
    let serial = BigUint::from_bytes_be(&random_bytes(16).map_err(|e| e.msg)?);
    let sig_alg = signer.signature_algorithm()?;
    let spki = signee.public_key_info()?;
    let signee_key_bits = Reader::new(&spki).sequence().and_then(|mut r| {
        r.sequence()?;
        r.bits().map(<[u8]>::to_vec)
    })?;
    let subject = if t.cn.is_empty() {
        der::seq(&[])
    } else {
        der::seq(&[der::set(&[der::seq(&[
            der::oid(&[2, 5, 4, 3]),
            der::go_string(&t.cn),
        ])])])
    };
    let issuer = parent.map_or_else(|| subject.clone(), |p| p.subject.clone());
    let authority_key_id = match parent {
        Some(p) if p.subject != subject => p.subject_key_id.clone(),
        _ => None,
    };
    let subject_key_id = t
        .is_ca
        .then(|| sha2::Sha256::digest(&signee_key_bits)[..20].to_vec());
    // The signer must hold the parent's key (Sprig's self-signed templates
    // carry no public key, so Go skips the check for them).
    if let Some(p) = parent
        && p.public_key_info != signer.public_key_info()?
    {
        return Err("x509: provided PrivateKey doesn't match parent's PublicKey".into());
    }

    let ext = |id: &[u64], critical: bool, value: Vec<u8>| {
        let mut parts = vec![der::oid(id)];
        if critical {
            parts.push(der::boolean(true));
        }
        parts.push(der::octets(&value));
        der::seq(&parts)
    };
    // KeyUsage: DigitalSignature (bit 0) | KeyEncipherment (bit 2), plus
    // CertSign (bit 5) for CAs; bits are numbered from the high end.
    let usage: u8 = if t.is_ca { 0xA4 } else { 0xA0 };
    let mut extensions = vec![
        ext(&[2, 5, 29, 15], true, der::trimmed_bits(&[usage])),
        ext(
            &[2, 5, 29, 37],
            false,
            der::seq(&[
                der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
                der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
            ]),
        ),
        ext(
            &[2, 5, 29, 19],
            true,
            if t.is_ca {
                der::seq(&[der::boolean(true)])
            } else {
                der::seq(&[])
            },
        ),
    ];
    if let Some(id) = &subject_key_id {
        extensions.push(ext(&[2, 5, 29, 14], false, der::octets(id)));
    }
    if let Some(id) = &authority_key_id {
        extensions.push(ext(
            &[2, 5, 29, 35],
            false,
            der::seq(&[der::implicit(0, id)]),
        ));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            if !d.is_ascii() {
                return Err(format!(
                    "x509: {} cannot be encoded as an IA5String",
                    crate::gofmt::quote(d)
                ));
            }
            names.push(der::implicit(2, d.as_bytes()));
        }
        for ip in &t.ips {
            names.push(der::implicit(7, ip));
        }
        extensions.push(ext(&[2, 5, 29, 17], t.cn.is_empty(), der::seq(&names)));
    }

    let now = crate::funcs::dates::GoTime::now();
    // time.Hour * 24 * time.Duration(days) wraps like Go's int64.
    let span_ns = 86_400_000_000_000i64.wrapping_mul(t.days);
    let not_after = now.add_nanos(i128::from(span_ns));
    let tbs = der::seq(&[
        der::explicit(0, &der::small_int(2)),
        der::uint(&serial),
        sig_alg.clone(),
        issuer,
        der::seq(&[asn1_time(&now)?, asn1_time(&not_after)?]),
        subject,
        spki,
        der::explicit(3, &der::seq(&extensions)),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = der::seq(&[tbs, sig_alg, der::bits(&signature)]);
    Ok(der::pem_encode("CERTIFICATE", &cert))
}

/// Sprig's `getCertAndKey`.
fn cert_and_key(
    t: &Template,
    signee: &PrivateKey,
    parent: Option<&ParsedCert>,
    signer: &PrivateKey,
) -> R {
    let cert = create_certificate(t, signee, parent, signer)
        .map_err(|e| super::err(format!("error creating certificate: {e}")))?;
    Ok(cert_value(cert, signee.pem()))
}

fn gen_ca(cn: &str, days: i64, key: PrivateKey) -> R {
    let t = Template {
        cn: cn.to_string(),
        ips: Vec::new(),
        dns: Vec::new(),
        days,
        is_ca: true,
    };
    cert_and_key(&t, &key, None, &key)
}

fn gen_self_signed(cn: &str, ips: &Value, dns: &Value, days: i64, key: PrivateKey) -> R {
    let t = Template {
        cn: cn.to_string(),
        ips: net_ips(ips)?,
        dns: dns_names(dns)?,
        days,
        is_ca: false,
    };
    cert_and_key(&t, &key, None, &key)
}

fn gen_signed(cn: &str, ips: &Value, dns: &Value, days: i64, ca: &Value, key: PrivateKey) -> R {
    let Value::Object(o) = ca else {
        return Err(super::err("unable to decode certificate"));
    };
    let Object::Certificate(ca) = &**o else {
        return Err(super::err("unable to decode certificate"));
    };
    let Some(block) = der::pem_decode(&ca.cert) else {
        return Err(super::err("unable to decode certificate"));
    };
    let parent = parse_certificate(&block.bytes).map_err(|e| {
        super::err(format!(
            "error parsing certificate: decodedSignerCert.Bytes: {e}"
        ))
    })?;
    let signer = parse_private_key_pem(&ca.key)
        .map_err(|e| super::err(format!("error parsing private key: {e}")))?;
    let t = Template {
        cn: cn.to_string(),
        ips: net_ips(ips)?,
        dns: dns_names(dns)?,
        days,
        is_ca: false,
    };
    cert_and_key(&t, &key, Some(&parent), &signer)
}

/// Sprig's `buildCustomCertificate`.
fn build_custom_cert(b64cert: &str, b64key: &str) -> R {
    let cert = super::encoding::b64decode(b64cert.as_bytes())
        .map_err(|_| super::err("unable to decode base64 certificate"))?;
    let key = super::encoding::b64decode(b64key.as_bytes())
        .map_err(|_| super::err("unable to decode base64 private key"))?;
    let cert = crate::value::gostr::from_bytes(&cert);
    let key = crate::value::gostr::from_bytes(&key);
    let Some(block) = der::pem_decode(&cert) else {
        return Err(super::err("unable to decode certificate"));
    };
    parse_certificate(&block.bytes)
        .map_err(|e| super::err(format!("error parsing certificate: decodedCert.Bytes: {e}")))?;
    parse_private_key_pem(&key)
        .map_err(|e| super::err(format!("error parsing private key: {e}")))?;
    Ok(cert_value(cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_signatures_verify() {
        let key = gen_rsa(1024).unwrap();
        let msg = b"hello";
        let sig = key.sign_sha256(msg);
        let spki = PrivateKey::Rsa(key.clone()).public_key_info().unwrap();
        // ring verifies PKCS #1 v1.5 SHA-256 against the RSAPublicKey.
        let public = sig_alg::UnparsedPublicKey::new(
            &sig_alg::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            key.public_der(),
        );
        public.verify(msg, &sig).unwrap();
        assert!(!spki.is_empty());
        let back = RsaKey::parse_pkcs1(&key.pkcs1()).unwrap();
        assert_eq!(back.n, key.n);
    }

    #[test]
    fn ca_and_signed_certificates_parse() {
        let ca_key = PrivateKey::Ec(match gen_ec_p256().unwrap() {
            PrivateKey::Ec(k) => k,
            _ => unreachable!(),
        });
        let ca = gen_ca("my-ca", 365, ca_key).unwrap();
        let Value::Object(o) = &ca else { panic!() };
        let Object::Certificate(c) = &**o else {
            panic!()
        };
        let block = der::pem_decode(&c.cert).unwrap();
        let parsed = parse_certificate(&block.bytes).unwrap();
        assert!(parsed.subject_key_id.is_some());
        let leaf_key = PrivateKey::Ed25519(random_bytes(32).unwrap());
        let ips = Value::list(vec![Value::str("10.0.0.1"), Value::str("::1")]);
        let dns = Value::list(vec![Value::str("a.example")]);
        let leaf = gen_signed("leaf", &ips, &dns, 30, &ca, leaf_key).unwrap();
        let Value::Object(o) = &leaf else { panic!() };
        let Object::Certificate(l) = &**o else {
            panic!()
        };
        assert!(l.key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let parsed = parse_certificate(&der::pem_decode(&l.cert).unwrap().bytes).unwrap();
        assert!(parsed.subject_key_id.is_none());
        // A key that is not the CA's cannot sign with it.
        let other = Value::object(Object::Certificate(Certificate {
            cert: c.cert.clone(),
            key: PrivateKey::Ed25519(random_bytes(32).unwrap()).pem(),
        }));
        let err = gen_signed(
            "x",
            &Value::Nil,
            &Value::Nil,
            1,
            &other,
            PrivateKey::Ed25519(random_bytes(32).unwrap()),
        )
        .unwrap_err();
        assert!(
            err.msg.contains("doesn't match parent's PublicKey"),
            "{}",
            err.msg
        );
    }

    #[test]
    fn private_keys_round_trip_through_pem() {
        for key in [
            gen_ec_p256().unwrap(),
            PrivateKey::Ed25519(random_bytes(32).unwrap()),
        ] {
            let pem = key.pem();
            let back = parse_private_key_pem(&pem).unwrap();
            assert_eq!(back.pem(), pem);
        }
        assert_eq!(
            parse_private_key_pem("x").unwrap_err(),
            "no PEM data in input"
        );
    }
}
