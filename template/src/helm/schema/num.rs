//! Exact decimal numbers (what the validator's `big.Rat` holds: the value
//! of a number's decimal text) and the number formatting of
//! `golang.org/x/text/message`'s English printer, which the validator's
//! messages go through: `1,000`, `999.5`, `2×10⁰⁶`.

use std::cmp::Ordering;

use num_bigint::BigUint;

/// `±mantissa × 10^exp`, normalized (no trailing zeros in the mantissa;
/// zero is `+0 × 10^0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dec {
    neg: bool,
    mant: BigUint,
    exp: i64,
}

impl Dec {
    /// Parses decimal text as Go's `big.Rat.SetString` does for JSON
    /// numbers and `%v` floats (`12`, `-1.50`, `1e+06`, `2.5E-3`).
    pub fn parse(text: &str) -> Option<Dec> {
        let (neg, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (num, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{int}{frac}");
        let mant = BigUint::parse_bytes(
            if digits.is_empty() {
                b"0"
            } else {
                digits.as_bytes()
            },
            10,
        )?;
        Dec::new(neg, mant, exp.checked_sub(frac.len() as i64)?)
    }

    /// None when normalizing takes the exponent past i64 (`10e9223372036854775807`).
    fn new(neg: bool, mut mant: BigUint, mut exp: i64) -> Option<Dec> {
        let zero = BigUint::from(0u32);
        if mant == zero {
            return Some(Dec {
                neg: false,
                mant,
                exp: 0,
            });
        }
        let ten = BigUint::from(10u32);
        while (&mant % &ten) == zero {
            mant /= &ten;
            exp = exp.checked_add(1)?;
        }
        Some(Dec { neg, mant, exp })
    }

    fn is_zero(&self) -> bool {
        self.mant == BigUint::from(0u32)
    }

    /// The number of digits in the mantissa.
    fn digits(&self) -> i64 {
        self.mant.to_string().len() as i64
    }

    /// Compares magnitudes.
    fn cmp_abs(&self, other: &Dec) -> Ordering {
        if self.is_zero() || other.is_zero() {
            return (!self.is_zero()).cmp(&!other.is_zero());
        }
        // Order of magnitude first, so huge exponents never get expanded
        // (in i128: an exponent may be near i64's ends).
        let a = i128::from(self.digits()) + i128::from(self.exp);
        let b = i128::from(other.digits()) + i128::from(other.exp);
        if a != b {
            return a.cmp(&b);
        }
        let e = self.exp.min(other.exp);
        let scale = |d: &Dec| &d.mant * BigUint::from(10u32).pow((d.exp - e) as u32);
        scale(self).cmp(&scale(other))
    }

    /// Whether the value is an integer (`Rat.IsInt`).
    pub fn is_int(&self) -> bool {
        self.exp >= 0
    }

    /// Whether `self / other` is an integer (`multipleOf`).
    pub fn is_multiple_of(&self, other: &Dec) -> bool {
        if other.is_zero() {
            return false;
        }
        if self.is_zero() {
            return true;
        }
        let ten = BigUint::from(10u32);
        if self.exp >= other.exp {
            // a·10^(p−q) divisible by b: b / gcd(b, a) must be 2^x·5^y
            // with x, y ≤ p − q.
            let mut b = other.mant.clone() / gcd(&other.mant, &self.mant);
            let shift = i128::from(self.exp) - i128::from(other.exp);
            for p in [2u32, 5] {
                let p = BigUint::from(p);
                let mut n = 0;
                while (&b % &p) == BigUint::from(0u32) {
                    b /= &p;
                    n += 1;
                }
                if n > shift {
                    return false;
                }
            }
            b == BigUint::from(1u32)
        } else {
            let shift = i128::from(other.exp) - i128::from(self.exp);
            if shift > i128::from(self.digits()) {
                return false;
            }
            let d = &other.mant * ten.pow(shift as u32);
            (&self.mant % d) == BigUint::from(0u32)
        }
    }

    /// `Rat.Float64()`.
    pub fn to_f64(&self) -> f64 {
        let text = format!(
            "{}{}e{}",
            if self.neg { "-" } else { "" },
            self.mant,
            self.exp
        );
        text.parse().unwrap_or(f64::NAN)
    }
}

fn gcd(a: &BigUint, b: &BigUint) -> BigUint {
    let zero = BigUint::from(0u32);
    let (mut a, mut b) = (a.clone(), b.clone());
    while b != zero {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Dec) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec {
    fn cmp(&self, other: &Dec) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

/// Groups an integer's digits by thousands (`1234567` → `1,234,567`).
fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `p.Sprintf("%d", n)` with the English printer.
pub fn locale_int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    format!("{}{}", if n < 0 { "-" } else { "" }, group(&digits))
}

fn superscript(n: i64) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits = format!("{:02}", n.unsigned_abs());
    let mut out = String::new();
    if n < 0 {
        out.push('⁻');
    }
    out.extend(digits.bytes().map(|b| SUP[(b - b'0') as usize]));
    out
}

/// `p.Sprintf("%v", f)` with the English printer: the shortest digits,
/// scientific (`1.5×10⁰⁷`) when the exponent is below −4 or at least 6,
/// else decimal with grouped thousands.
pub fn locale_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-∞" } else { "∞" }.into();
    }
    let sign = if f.is_sign_negative() && f != 0.0 {
        "-"
    } else {
        ""
    };
    // Rust's `{:e}` gives the shortest round-tripping digits.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    if f == 0.0 {
        return "0".into();
    }
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        return format!("{sign}{m}×10{}", superscript(exp));
    }
    let (int, frac) = if exp >= 0 {
        let split = (exp + 1) as usize;
        if digits.len() <= split {
            (
                format!("{digits}{}", "0".repeat(split - digits.len())),
                String::new(),
            )
        } else {
            (digits[..split].to_string(), digits[split..].to_string())
        }
    } else {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat((-exp - 1) as usize)),
        )
    };
    let mut out = format!("{sign}{}", group(&int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly() {
        let d = |s| Dec::parse(s).unwrap();
        assert!(d("1.50") == d("1.5"));
        assert!(d("1e3") == d("1000"));
        assert!(d("-0.001") < d("-5e-07"));
        assert!(d("999.5") < d("1000"));
        assert!(d("1e999999") > d("1"));
        assert!(!d("1.3").is_multiple_of(&d("0.25")));
        assert!(d("1.25").is_multiple_of(&d("0.25")));
        assert!(d("1e100").is_multiple_of(&d("0.5")));
        assert!(!d("1e100").is_multiple_of(&d("3")));
        assert!(d("12").is_multiple_of(&d("3")));
        assert!(d("3e2").is_int() && !d("3.1").is_int());
    }

    /// Exponents at i64's ends compare and divide without overflowing;
    /// one that normalizing would take past them is no number.
    #[test]
    fn exponents_at_the_ends_of_i64_do_not_overflow() {
        let d = |s| Dec::parse(s).unwrap();
        let (huge, tiny) = (d("99e9223372036854775806"), d("1e-9223372036854775808"));
        assert!(huge > tiny && tiny > d("0") && d("-99e9223372036854775806") < tiny);
        assert!(huge > d("1e9223372036854775806"));
        assert!(!huge.is_multiple_of(&d("7e-9223372036854775808")));
        assert!(huge.is_multiple_of(&tiny));
        assert!(!tiny.is_multiple_of(&huge));
        assert_eq!(Dec::parse("10e9223372036854775807"), None);
        assert_eq!(Dec::parse("1.0e-9223372036854775808"), None);
    }

    #[test]
    fn formats_like_x_text() {
        assert_eq!(locale_float(1000.0), "1,000");
        assert_eq!(locale_float(999.5), "999.5");
        assert_eq!(locale_float(2e6), "2×10⁰⁶");
        assert_eq!(locale_float(12345678.0), "1.2345678×10⁰⁷");
        assert_eq!(locale_float(-5e-7), "-5×10⁻⁰⁷");
        assert_eq!(locale_float(1e301), "1×10³⁰¹");
        assert_eq!(locale_float(-0.001), "-0.001");
        assert_eq!(locale_float(0.25), "0.25");
        assert_eq!(locale_float(123456.0), "123,456");
        assert_eq!(locale_int(1234567), "1,234,567");
        assert_eq!(locale_int(-5), "-5");
    }
}
