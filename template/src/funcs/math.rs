//! Sprig's arithmetic (`numeric.go` and the math entries of
//! `functions.go`). Integer functions cast their arguments with spf13/cast
//! and return int64; the `…f` functions compute in shopspring/decimal
//! (exact decimal arithmetic on the shortest decimal form of each float,
//! division rounded to 16 places) and return float64.

use super::conv::{to_float64, to_int64};
use super::{FuncMap, Ty, add, i, sig, sig_var};
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
        let pow = 10f64.powf(i(&a[1]) as f64);
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
    a.max(b)
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
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

/// A decimal `coef * 10^exp`, as shopspring/decimal holds it.
#[derive(Clone, Copy, Debug)]
struct Dec {
    coef: i128,
    exp: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Dec { coef: 0, exp: 0 });
        }
        let s = format!("{:e}", f);
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
        let coef: i128 = digits.parse().ok()?;
        let frac_len = digits.len() as i32 - 1;
        Some(Dec {
            coef: if neg { -coef } else { coef },
            exp: exp - frac_len,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.coef, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let sa = 10i128.checked_pow((a.exp - exp) as u32)?;
        let sb = 10i128.checked_pow((b.exp - exp) as u32)?;
        Some((a.coef.checked_mul(sa)?, b.coef.checked_mul(sb)?, exp))
    }

    fn apply(self, op: Op, b: Dec) -> Option<Dec> {
        match op {
            Op::Add | Op::Sub => {
                let (x, y, exp) = Dec::align(self, b)?;
                let coef = if matches!(op, Op::Add) {
                    x.checked_add(y)?
                } else {
                    x.checked_sub(y)?
                };
                Some(Dec { coef, exp })
            }
            Op::Mul => Some(Dec {
                coef: self.coef.checked_mul(b.coef)?,
                exp: self.exp.checked_add(b.exp)?,
            }),
            Op::Div => {
                // DivRound(b, 16): the quotient rounded half away from zero to 16 places.
                const PREC: i32 = 16;
                // q = self/b * 10^PREC, computed with one extra digit for rounding.
                let shift = self.exp - b.exp + PREC + 1;
                let (num, den) = if shift >= 0 {
                    (
                        self.coef.checked_mul(10i128.checked_pow(shift as u32)?)?,
                        b.coef,
                    )
                } else {
                    (
                        self.coef,
                        b.coef.checked_mul(10i128.checked_pow((-shift) as u32)?)?,
                    )
                };
                let q = num.checked_div(den)?;
                let last = q % 10;
                let mut q = q / 10;
                if last.abs() >= 5 {
                    // Round half away from zero.
                    q += if (num < 0) != (den < 0) { -1 } else { 1 };
                }
                Some(Dec {
                    coef: q,
                    exp: -PREC,
                })
            }
        }
    }
}

fn decimal_op(a: &Value, rest: &[Value], op: Op) -> Result<f64, GoError> {
    let fa = to_float64(a);
    let mut acc = Dec::from_f64(fa);
    let mut fallback = fa;
    for x in rest {
        let fx = to_float64(x);
        if matches!(op, Op::Div) && fx == 0.0 {
            return Err(super::err("decimal division by 0"));
        }
        fallback = match op {
            Op::Add => fallback + fx,
            Op::Sub => fallback - fx,
            Op::Mul => fallback * fx,
            Op::Div => fallback / fx,
        };
        acc = match (acc, Dec::from_f64(fx)) {
            (Some(d), Some(e)) => d.apply(op, e),
            _ => None,
        };
    }
    Ok(acc.map(Dec::to_f64).unwrap_or(fallback))
}
