//! Sprig's arithmetic (`numeric.go` and the math entries of
//! `functions.go`). Integer functions cast their arguments with spf13/cast
//! and return int64; the `…f` functions compute in shopspring/decimal
//! (exact decimal arithmetic on the shortest decimal form of each float,
//! division rounded to 16 places) and return float64.

use super::conv::{to_float64, to_int64};
use super::{FuncMap, Ty, add, i, sig, sig_var};
use num_bigint::{BigInt, Sign};

use crate::error::GoError;
use crate::value::Value;

fn divide_by_zero() -> GoError {
    super::err("runtime error: integer divide by zero")
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "add1", sig(&[Any]), |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    add(m, "add", sig_var(&[], Any), |_, a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |acc, b| acc.wrapping_add(to_int64(b))),
        ))
    });
    add(m, "sub", sig(&[Any, Any]), |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    add(m, "div", sig(&[Any, Any]), |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    add(m, "mod", sig(&[Any, Any]), |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    add(m, "mul", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, b| acc.wrapping_mul(to_int64(b))),
        ))
    });
    add(m, "randInt", sig(&[Int, Int]), |_, a| {
        let (min, max) = (i(&a[0]), i(&a[1]));
        if max <= min {
            return Err(super::err("invalid argument to Intn"));
        }
        Ok(Value::Int(
            min + (super::crypto::random_u64() % (max - min) as u64) as i64,
        ))
    });
    for name in ["biggest", "max"] {
        add(m, name, sig_var(&[Any], Any), |_, a| {
            Ok(Value::Int64(
                a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
            ))
        });
    }
    add(m, "min", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min),
        ))
    });
    add(m, "maxf", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_max),
        ))
    });
    add(m, "minf", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_min),
        ))
    });
    add(m, "floor", sig(&[Any]), |_, a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    add(m, "ceil", sig(&[Any]), |_, a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    add(m, "round", sig_var(&[Any, Int], Float64), |_, a| {
        let round_on = match a.get(2) {
            Some(Value::Float(f)) => *f,
            _ => 0.5,
        };
        let val = to_float64(&a[0]);
        let pow = go_pow10(i(&a[1]));
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    add(m, "add1f", sig(&[Any]), |_, a| {
        Ok(Value::Float(decimal_op(&a[0], &[Value::Int(1)], Op::Add)?))
    });
    add(m, "addf", sig_var(&[], Any), |_, a| {
        Ok(Value::Float(decimal_op(&Value::Float(0.0), &a, Op::Add)?))
    });
    add(m, "subf", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Sub)?))
    });
    add(m, "mulf", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Mul)?))
    });
    add(m, "divf", sig_var(&[Any], Any), |_, a| {
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Div)?))
    });
}

/// Go's `math.Max` (NaN wins, +0 beats -0).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_positive() { a } else { b };
    }
    a.max(b)
}

/// Go's `math.Min` (NaN wins, -0 beats +0).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    a.min(b)
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal `coef * 10^exp`, as shopspring/decimal holds it (a
/// `big.Int` coefficient: sums of far-apart magnitudes such as
/// `addf 1e300 1e-300` stay exact, as in Go).
#[derive(Clone, Debug)]
struct Dec {
    coef: BigInt,
    exp: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips. Go
    /// panics on ±Inf and NaN, which the template reports as the call's
    /// error.
    fn from_f64(f: f64) -> Result<Dec, GoError> {
        if !f.is_finite() {
            let shown = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            return Err(super::err(format!("Cannot create a Decimal from {shown}")));
        }
        if f == 0.0 {
            return Ok(Dec {
                coef: BigInt::ZERO,
                exp: 0,
            });
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
        let coef: BigInt = digits.parse().unwrap_or_default();
        Ok(Dec {
            coef: if mant.starts_with('-') { -coef } else { coef },
            exp: exp - (digits.len() as i32 - 1),
        })
    }

    /// `Float64()`: the float nearest the exact decimal.
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.coef, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// The coefficient scaled to a smaller exponent.
    fn rescaled(&self, exp: i32) -> BigInt {
        &self.coef * BigInt::from(10u8).pow(self.exp.abs_diff(exp))
    }

    fn apply(self, op: Op, b: Dec) -> Dec {
        match op {
            Op::Add | Op::Sub => {
                let exp = self.exp.min(b.exp);
                let (x, y) = (self.rescaled(exp), b.rescaled(exp));
                let coef = if matches!(op, Op::Add) { x + y } else { x - y };
                Dec { coef, exp }
            }
            Op::Mul => Dec {
                coef: self.coef * b.coef,
                exp: self.exp + b.exp,
            },
            Op::Div => {
                // DivRound(b, 16): the quotient rounded half away from zero
                // to 16 places, computed with one extra digit for rounding.
                const PREC: i32 = 16;
                let shift = self.exp - b.exp + PREC + 1;
                let ten = BigInt::from(10u8);
                let (num, den) = if shift >= 0 {
                    (self.coef * ten.pow(shift.unsigned_abs()), b.coef)
                } else {
                    (self.coef, b.coef * ten.pow(shift.unsigned_abs()))
                };
                let q = &num / &den;
                let last = (&q % 10u8).magnitude().clone();
                let mut q = q / 10u8;
                if last >= 5u8.into() {
                    q += if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
                        -1
                    } else {
                        1
                    };
                }
                Dec {
                    coef: q,
                    exp: -PREC,
                }
            }
        }
    }
}

fn decimal_op(a: &Value, rest: &[Value], op: Op) -> Result<f64, GoError> {
    let mut acc = Dec::from_f64(to_float64(a))?;
    for x in rest {
        let d = Dec::from_f64(to_float64(x))?;
        if matches!(op, Op::Div) && d.coef.sign() == Sign::NoSign {
            return Err(super::err("decimal division by 0"));
        }
        acc = acc.apply(op, d);
    }
    Ok(acc.to_f64())
}

/// Go's `math.Pow(10, n)` for an integral `n`, which Sprig's `round`
/// scales by: repeated squaring of Frexp's fraction, not correctly rounded
/// past 10^22 (Rust's `powf` is), so `round 7 100` is 7 as in Helm.
fn go_pow10(n: i64) -> f64 {
    match n {
        0 => return 1.0,
        1 => return 10.0,
        // |n| is 2^63: Go's "large even int" case, 10^-huge underflows.
        i64::MIN => return 0.0,
        _ => {}
    }
    let (mut a1, mut ae) = (1.0f64, 0i64);
    // Frexp(10) = 0.625 × 2^4.
    let (mut x1, mut xe) = (0.625f64, 4i64);
    let mut i = n.unsigned_abs();
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if n < 0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    go_ldexp(a1, ae)
}

/// Go's `math.Ldexp`: `frac × 2^exp`, rounded once.
fn go_ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let (frac, mut exp) = if frac.abs() < f64::MIN_POSITIVE {
        (frac * (1u64 << 52) as f64, exp - 52)
    } else {
        (frac, exp)
    };
    let mut bits = frac.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp < -1075 {
        return 0f64.copysign(frac);
    }
    if exp > 1023 {
        return f64::INFINITY.copysign(frac);
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    bits &= !(0x7ff << 52);
    bits |= ((exp + 1023) as u64) << 52;
    m * f64::from_bits(bits)
}
