//! Evaluation: exact rational where the value is rational and small enough, and bounded
//! complex floating point otherwise.
//!
//! Every exact operation checks the size of its result first (`MAX_BITS`), so a power tower or
//! a huge factorial gives up quickly instead of exhausting the plugin's fuel and memory.
//!
//! Rational arithmetic goes through [`add`], [`mul`] and [`div`] rather than `num-rational`'s
//! operators: those reduce with a binary GCD whose cost grows with the square of the *larger*
//! side even when the other is 1, so `\frac{1}{2004!}` alone ran out of fuel.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::expr::Expr;

/// Largest numerator or denominator an exact value may have, in bits.
const MAX_BITS: u64 = 1 << 16;
/// Largest `n` for an exact `n!`.
const MAX_FACTORIAL: u64 = 3000;

fn bits(q: &BigRational) -> u64 {
    q.numer().bits().max(q.denom().bits())
}

fn small(q: BigRational) -> Option<BigRational> {
    (bits(&q) <= MAX_BITS).then_some(q)
}

/// The exact rational value, when there is one within the size caps. A percent sign is
/// ignored (`28%` has the value 28; the caller decides whether to also try 0.28).
pub fn exact(e: &Expr) -> Option<BigRational> {
    match e {
        Expr::Num(q, _) => Some(q.clone()),
        Expr::Neg(a) => Some(-exact(a)?),
        Expr::Add(items) => {
            items.iter().try_fold(BigRational::zero(), |acc, x| small(add(&acc, &exact(x)?)))
        }
        Expr::Mul(items) => {
            items.iter().try_fold(BigRational::one(), |acc, x| small(mul(&acc, &exact(x)?)))
        }
        Expr::Div(a, b) => small(div(&exact(a)?, &exact(b)?)?),
        Expr::Percent(a) => exact(a),
        Expr::Pow(base, exp) => {
            let exp = exact(exp)?;
            let base = exact(base)?;
            if exp.is_integer() {
                let n = exp.to_integer();
                let magnitude = n.abs().to_u64()?;
                if base.is_zero() {
                    return (!n.is_negative())
                        .then(|| if n.is_zero() { BigRational::one() } else { base });
                }
                if base.abs().is_one() {
                    return Some(if n.is_even() { base.abs() } else { base });
                }
                if bits(&base).saturating_mul(magnitude) > MAX_BITS {
                    return None;
                }
                let p = num_traits::Pow::pow(base, magnitude);
                return small(if n.is_negative() { p.recip() } else { p });
            }
            // A rational power of a perfect power: 8^{2/3} = 4.
            let (num, den) = (exp.numer().to_u64()?, exp.denom().to_u64()?);
            if den > 64 || num > 64 {
                return None;
            }
            let root = nth_root(&base, den)?;
            small(num_traits::Pow::pow(root, num))
        }
        Expr::Func(f, a) if f == "sqrt" => nth_root(&exact(a)?, 2),
        Expr::Func(f, a) if f == "abs" => Some(exact(a)?.abs()),
        Expr::Func(f, a) if f == "floor" => {
            Some(BigRational::from_integer(exact(a)?.floor().to_integer()))
        }
        Expr::Func(f, a) if f == "ceil" => {
            Some(BigRational::from_integer(exact(a)?.ceil().to_integer()))
        }
        Expr::Func(f, a) if f == "binom" => {
            let Expr::Tuple(args) = a.as_ref() else { return None };
            let (n, k) = (exact(&args[0])?, exact(&args[1])?);
            let (n, k) = (n.to_integer().to_u64()?, k.to_integer().to_u64()?);
            if k > n || n > MAX_FACTORIAL {
                return Some(BigRational::zero());
            }
            let mut acc = BigInt::one();
            for i in 0..k.min(n - k) {
                acc = acc * BigInt::from(n - i) / BigInt::from(i + 1);
            }
            Some(BigRational::from_integer(acc))
        }
        Expr::Factorial(a) => {
            let n = exact(a)?;
            if !n.is_integer() || n.is_negative() {
                return None;
            }
            let n = n.to_integer().to_u64()?;
            if n > MAX_FACTORIAL {
                return None;
            }
            Some(BigRational::from_integer(product(1, n)))
        }
        _ => None,
    }
}

/// `lo × (lo + 1) × … × hi`, halving the range so that the big multiplications are between
/// numbers of similar size (several times faster than one factor at a time for `2004!`).
fn product(lo: u64, hi: u64) -> BigInt {
    if hi < lo + 8 {
        return (lo..=hi).fold(BigInt::one(), |acc, k| acc * k);
    }
    let mid = lo + (hi - lo) / 2;
    product(lo, mid) * product(mid + 1, hi)
}

/// `a + b`, reduced.
pub fn add(a: &BigRational, b: &BigRational) -> BigRational {
    if a.denom() == b.denom() {
        return reduced(a.numer() + b.numer(), a.denom().clone());
    }
    let g = gcd(a.denom(), b.denom());
    let (ad, bd) = (a.denom() / &g, b.denom() / &g);
    reduced(a.numer() * &bd + b.numer() * &ad, ad * b.denom())
}

/// `a × b`, reduced: each numerator is first reduced against the other's denominator.
pub fn mul(a: &BigRational, b: &BigRational) -> BigRational {
    let (g1, g2) = (gcd(a.numer(), b.denom()), gcd(b.numer(), a.denom()));
    BigRational::new_raw(
        (a.numer() / &g1) * (b.numer() / &g2),
        (a.denom() / &g2) * (b.denom() / &g1),
    )
}

/// `a / b`, reduced; `None` when `b` is zero.
pub fn div(a: &BigRational, b: &BigRational) -> Option<BigRational> {
    (!b.is_zero()).then(|| mul(a, &b.recip()))
}

/// `n / d` in lowest terms, `d` positive.
fn reduced(n: BigInt, d: BigInt) -> BigRational {
    let g = gcd(&n, &d);
    let (n, d) = if g.is_one() { (n, d) } else { (n / &g, d / &g) };
    if d.is_negative() { BigRational::new_raw(-n, -d) } else { BigRational::new_raw(n, d) }
}

/// The non-negative greatest common divisor, in time linear in the larger side when the
/// smaller fits a machine word, and after one remainder step (which brings both sides to the
/// smaller's size) otherwise.
fn gcd(a: &BigInt, b: &BigInt) -> BigInt {
    let (a, b) = (a.magnitude(), b.magnitude());
    let (small, large) = if a.bits() <= b.bits() { (a, b) } else { (b, a) };
    if small.is_zero() {
        return BigInt::from(large.clone());
    }
    if let Some(s) = small.to_u64() {
        let r: u64 = (large % s).to_u64().expect("a remainder is below its divisor");
        return BigInt::from(s.gcd(&r));
    }
    BigInt::from(small.gcd(&(large % small)))
}

/// The exact `n`th root of a non-negative rational, if it is rational.
fn nth_root(q: &BigRational, n: u64) -> Option<BigRational> {
    if q.is_negative() || n == 0 {
        return None;
    }
    let root = |x: &BigInt| {
        let r = x.nth_root(n as u32);
        (num_traits::pow(r.clone(), n as usize) == *x).then_some(r)
    };
    Some(BigRational::new(root(q.numer())?, root(q.denom())?))
}

/// `ln |value|` of a product, quotient or integer power of numbers and factorials, found without
/// computing the value (`1/2004!` is 19 k bits exactly, one `f64` here); `None` for any other
/// shape, for zero, and for a number with stated decimals (whose rounding a comparison honours).
pub fn ln_magnitude(e: &Expr) -> Option<f64> {
    match e {
        Expr::Num(q, None) if !q.is_zero() => Some(ln_integer(q.numer()) - ln_integer(q.denom())),
        Expr::Neg(a) => ln_magnitude(a),
        Expr::Mul(items) => items.iter().map(ln_magnitude).sum(),
        Expr::Div(a, b) => Some(ln_magnitude(a)? - ln_magnitude(b)?),
        Expr::Pow(base, exp) => Some(small_integer(exp)? as f64 * ln_magnitude(base)?),
        Expr::Factorial(a) => Some(ln_factorial(u64::try_from(small_integer(a)?).ok()?)),
        _ => None,
    }
}

/// Whether a factorial occurs anywhere in `e`.
pub fn has_factorial(e: &Expr) -> bool {
    match e {
        Expr::Factorial(_) => true,
        Expr::Neg(a) | Expr::Percent(a) | Expr::Func(_, a) => has_factorial(a),
        Expr::Div(a, b) | Expr::Pow(a, b) => has_factorial(a) || has_factorial(b),
        Expr::Add(items) | Expr::Mul(items) => items.iter().any(has_factorial),
        _ => false,
    }
}

/// A whole number written as one (`3`, `-2`), within `i64`.
fn small_integer(e: &Expr) -> Option<i64> {
    match e {
        Expr::Num(q, None) if q.is_integer() => q.numer().to_i64(),
        Expr::Neg(a) => small_integer(a)?.checked_neg(),
        _ => None,
    }
}

/// `ln |n|` for a nonzero integer of any size: its top 64 bits as a float, scaled.
fn ln_integer(n: &BigInt) -> f64 {
    let shift = n.bits().saturating_sub(64);
    let top = (n.magnitude() >> shift).to_f64().expect("64 bits fit a float");
    top.ln() + shift as f64 * std::f64::consts::LN_2
}

/// `ln n!`: summed for small `n`, else Stirling's series (relative error below 1e-15 there).
fn ln_factorial(n: u64) -> f64 {
    if n <= 20 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    let series = 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3)) + 1.0 / (1260.0 * x.powi(5));
    x * x.ln() - x + 0.5 * (std::f64::consts::TAU * x).ln() + series
}

/// A complex number for numeric checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct C {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl C {
    fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }
    fn add(self, o: Self) -> Self {
        Self { re: self.re + o.re, im: self.im + o.im }
    }
    fn mul(self, o: Self) -> Self {
        Self { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
    fn div(self, o: Self) -> Self {
        let d = o.re * o.re + o.im * o.im;
        Self {
            re: (self.re * o.re + self.im * o.im) / d,
            im: (self.im * o.re - self.re * o.im) / d,
        }
    }
    fn neg(self) -> Self {
        Self { re: -self.re, im: -self.im }
    }
    fn ln(self) -> Self {
        Self { re: self.re.hypot(self.im).ln(), im: self.im.atan2(self.re) }
    }
    fn exp(self) -> Self {
        let m = self.re.exp();
        Self { re: m * self.im.cos(), im: m * self.im.sin() }
    }
    fn pow(self, o: Self) -> Self {
        if o.im == 0.0 && o.re.fract() == 0.0 && o.re.abs() <= 64.0 {
            let mut acc = C::real(1.0);
            for _ in 0..o.re.abs() as u32 {
                acc = acc.mul(self);
            }
            return if o.re < 0.0 { C::real(1.0).div(acc) } else { acc };
        }
        if self.im == 0.0 && self.re >= 0.0 && o.im == 0.0 {
            return C::real(self.re.powf(o.re));
        }
        if self.re == 0.0 && self.im == 0.0 {
            return C::real(0.0);
        }
        o.mul(self.ln()).exp()
    }
    /// Whether the value is usable for comparison.
    pub fn is_finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }
}

/// The value of `e` with its free symbols bound by `var`; NaN where undefined.
pub fn numeric(e: &Expr, var: &dyn Fn(&str) -> f64) -> C {
    let nan = C::real(f64::NAN);
    match e {
        Expr::Num(q, _) => C::real(q.to_f64().unwrap_or(f64::NAN)),
        Expr::Sym(s) => C::real(var(s)),
        Expr::Pi => C::real(std::f64::consts::PI),
        Expr::E => C::real(std::f64::consts::E),
        Expr::I => C { re: 0.0, im: 1.0 },
        Expr::Inf => C::real(f64::INFINITY),
        Expr::Add(items) => items.iter().fold(C::real(0.0), |acc, x| acc.add(numeric(x, var))),
        Expr::Mul(items) => items.iter().fold(C::real(1.0), |acc, x| acc.mul(numeric(x, var))),
        Expr::Div(a, b) => numeric(a, var).div(numeric(b, var)),
        Expr::Neg(a) => numeric(a, var).neg(),
        Expr::Pow(a, b) => numeric(a, var).pow(numeric(b, var)),
        Expr::Percent(a) => numeric(a, var),
        Expr::Factorial(a) => {
            let n = numeric(a, var);
            if n.im != 0.0 || n.re < 0.0 || n.re.fract() != 0.0 || n.re > 170.0 {
                return if n.re > 170.0 { C::real(f64::INFINITY) } else { nan };
            }
            C::real((2..=n.re as u64).fold(1.0, |acc, k| acc * k as f64))
        }
        Expr::Func(f, a) => {
            if f == "binom" {
                return exact(e).map_or(nan, |q| C::real(q.to_f64().unwrap_or(f64::NAN)));
            }
            let x = numeric(a, var);
            match f.as_str() {
                "sqrt" => x.pow(C::real(0.5)),
                "exp" => x.exp(),
                "ln" => x.ln(),
                "log" => {
                    let l = x.ln();
                    // `log` is natural in sympy and Python, base 10 in school maths; the host
                    // compares both sides with the same reading, so either is consistent.
                    C { re: l.re, im: l.im }
                }
                "abs" => C::real(x.re.hypot(x.im)),
                _ if x.im != 0.0 => nan,
                "sin" => C::real(x.re.sin()),
                "cos" => C::real(x.re.cos()),
                "tan" => C::real(x.re.tan()),
                "cot" => C::real(1.0 / x.re.tan()),
                "sec" => C::real(1.0 / x.re.cos()),
                "csc" => C::real(1.0 / x.re.sin()),
                "arcsin" => C::real(x.re.asin()),
                "arccos" => C::real(x.re.acos()),
                "arctan" => C::real(x.re.atan()),
                "sinh" => C::real(x.re.sinh()),
                "cosh" => C::real(x.re.cosh()),
                "tanh" => C::real(x.re.tanh()),
                "arcsinh" => C::real(x.re.asinh()),
                "arccosh" => C::real(x.re.acosh()),
                "arctanh" => C::real(x.re.atanh()),
                "floor" => C::real(x.re.floor()),
                "ceil" => C::real(x.re.ceil()),
                _ => nan,
            }
        }
        _ => nan,
    }
}

/// The free symbols of an expression, sorted and deduplicated.
pub fn symbols(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Sym(s) => {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        Expr::Num(..) | Expr::Pi | Expr::E | Expr::I | Expr::Inf => {}
        Expr::Add(items)
        | Expr::Mul(items)
        | Expr::Tuple(items)
        | Expr::Set(items)
        | Expr::Union(items) => {
            items.iter().for_each(|x| symbols(x, out));
        }
        Expr::Pow(a, b)
        | Expr::Div(a, b)
        | Expr::PlusMinus(a, b)
        | Expr::Rel(_, a, b)
        | Expr::Interval(a, b, ..) => {
            symbols(a, out);
            symbols(b, out);
        }
        Expr::Neg(a) | Expr::Func(_, a) | Expr::Factorial(a) | Expr::Percent(a) => symbols(a, out),
        Expr::Matrix(rows) => rows.iter().flatten().for_each(|x| symbols(x, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ratio() -> impl Strategy<Value = BigRational> {
        // Numerators and denominators from one bit to a few hundred, with shared factors.
        (any::<i64>(), 1..u64::MAX, 0..40u32, 0..40u32).prop_map(|(n, d, a, b)| {
            let n = BigInt::from(n) * num_traits::pow(BigInt::from(6), a as usize);
            let d = BigInt::from(d) * num_traits::pow(BigInt::from(10), b as usize);
            BigRational::new(n, d)
        })
    }

    proptest! {
        /// The fast-GCD arithmetic gives `num-rational`'s results, reduced the same way.
        #[test]
        fn arithmetic_agrees_with_num_rational(a in ratio(), b in ratio()) {
            let same = |x: BigRational, y: BigRational| {
                x.numer() == y.numer() && x.denom() == y.denom()
            };
            prop_assert!(same(add(&a, &b), &a + &b));
            prop_assert!(same(mul(&a, &b), &a * &b));
            match div(&a, &b) {
                Some(q) => prop_assert!(same(q, &a / &b)),
                None => prop_assert!(b.is_zero()),
            }
        }
    }

    /// Products, quotients and integer powers of numbers and factorials, as answers write them.
    fn sized() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            (-1000i64..1000).prop_map(|n| Expr::Num(BigRational::from_integer(n.into()), None)),
            (0i64..2500).prop_map(|n| Expr::Factorial(Box::new(Expr::Num(
                BigRational::from_integer(n.into()),
                None
            )))),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Mul),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::Div(Box::new(a), Box::new(b))),
                (inner.clone(), -3i64..4).prop_map(|(a, n)| Expr::Pow(
                    Box::new(a),
                    Box::new(Expr::Num(BigRational::from_integer(n.into()), None))
                )),
                inner.prop_map(|a| Expr::Neg(Box::new(a))),
            ]
        })
    }

    proptest! {
        /// The magnitude found without computing the value is the computed value's, to within
        /// far less than the 1e-6 that a comparison allows.
        #[test]
        fn magnitude_is_the_exact_values(e in sized()) {
            if let (Some(q), Some(ln)) = (exact(&e), ln_magnitude(&e))
                && !q.is_zero()
            {
                let expected = ln_integer(q.numer()) - ln_integer(q.denom());
                prop_assert!((ln - expected).abs() <= 1e-9 * expected.abs().max(1.0), "{ln} vs {expected}");
            }
        }
    }

    #[test]
    fn factorial_magnitudes() {
        for n in [0, 1, 2, 20, 21, 100, 2004] {
            let exact = ln_integer(&product(1, n));
            assert!((ln_factorial(n) - exact).abs() <= 1e-12 * exact.max(1.0), "{n}!");
        }
    }

    #[test]
    fn gcd_handles_signs_zero_and_sizes() {
        let big = product(1, 300);
        assert_eq!(gcd(&big, &BigInt::from(-12)), BigInt::from(12));
        assert_eq!(gcd(&BigInt::zero(), &-big.clone()), big);
        assert_eq!(gcd(&big, &(product(1, 200) * 7)), product(1, 200) * 7);
        assert_eq!(product(1, 20), BigInt::from(2_432_902_008_176_640_000u64));
    }
}
