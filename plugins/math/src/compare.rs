//! Deciding whether two parsed answers are mathematically equal.

use std::borrow::Cow;

use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use crate::canon::show;
use crate::eval::{C, add, exact, has_factorial, ln_magnitude, mul, numeric, symbols};
use crate::expr::{Expr, Rel};

/// How comparisons are made.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Relative tolerance when a side is irrational or written with decimals.
    pub float_tolerance: f64,
    /// Whether `x%` also equals `x/100` (default true; `x%` always equals `x`).
    pub percent_is_fraction: bool,
    /// Whether a bare list `1, 2` also equals the tuple `(1, 2)` (lenient) or only the set
    /// `{1, 2}` (strict). Default lenient.
    pub lenient_lists: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self { float_tolerance: 1e-9, percent_is_fraction: true, lenient_lists: true }
    }
}

/// Fixed evaluation points for free symbols: arbitrary values, away from 0, 1, common poles
/// and famous constants (a point at √2 would make `x^2 - 2` vanish by coincidence).
const POINTS: [[f64; 4]; 4] = [
    [0.371_394_2, 1.281_743_9, 0.817_236_1, 1.649_137_3],
    [2.135_718_4, 0.528_371_6, 1.911_478_2, 0.733_924_7],
    [1.437_921_5, 2.361_842_9, 0.612_947_3, 1.174_382_6],
    [0.916_273_8, 1.753_219_4, 2.482_615_1, 0.447_851_9],
];

/// Decimal places from which a written decimal stands for any value that rounds to it
/// (`0.333333` for 1/3); fewer places (`0.786` for 419/533) must be exact.
const MIN_ROUNDED_DECIMALS: u32 = 6;

/// Whether `gold` and `pred` denote the same mathematical object.
pub fn equal(gold: &Expr, pred: &Expr, rules: &Rules) -> bool {
    let (gold, pred) = (expand_pm(gold), expand_pm(pred));
    let (gold, pred) = (gold.as_ref(), pred.as_ref());
    match (gold, pred) {
        // `x = 5` against `5`, either way round; `a = b = 101` against `101`.
        (Expr::Rel(Rel::Eq, lhs, rhs), other)
            if !matches!(other, Expr::Rel(..)) && is_name(lhs) =>
        {
            equal(rhs, other, rules)
        }
        (other, Expr::Rel(Rel::Eq, lhs, rhs))
            if !matches!(other, Expr::Rel(..)) && is_name(lhs) =>
        {
            equal(other, rhs, rules)
        }
        // `x = 5` against `x = 5`: the same name, equal values.
        (Expr::Rel(Rel::Eq, gl, grh), Expr::Rel(Rel::Eq, pl, prh))
            if is_name(gl) && show(gl) == show(pl) =>
        {
            equal(grh, prh, rules)
        }
        (Expr::Rel(gr, gl, grh), Expr::Rel(pr, pl, prh)) => {
            relations_equal((*gr, gl, grh), (*pr, pl, prh))
        }
        (Expr::Rel(..), Expr::Interval(..) | Expr::Union(..) | Expr::Tuple(_)) => {
            as_interval(gold).is_some_and(|g| equal(&g, pred, rules))
        }
        (Expr::Interval(..) | Expr::Union(..) | Expr::Tuple(_), Expr::Rel(..)) => {
            as_interval(pred).is_some_and(|p| equal(gold, &p, rules))
        }
        // `x < -1 or x > 3` against a union of intervals.
        (Expr::Set(rels), Expr::Union(_)) | (Expr::Union(_), Expr::Set(rels))
            if rels.iter().all(|r| matches!(r, Expr::Rel(..))) =>
        {
            let parts: Option<Vec<Expr>> = rels.iter().map(as_interval).collect();
            let union = Expr::Union(parts.unwrap_or_default());
            let other = if matches!(gold, Expr::Union(_)) { &gold } else { &pred };
            equal(&union, other, rules)
        }
        // `(a, b) = (3, 4)` against `a = 3, b = 4`: by name.
        (Expr::Rel(Rel::Eq, names, vals), Expr::Set(items))
        | (Expr::Set(items), Expr::Rel(Rel::Eq, names, vals))
            if items.iter().all(is_assignment) =>
        {
            let (Expr::Tuple(names), Expr::Tuple(vals)) = (names.as_ref(), vals.as_ref()) else {
                return false;
            };
            names.len() == items.len()
                && names.iter().zip(vals).all(|(n, v)| {
                    items.iter().any(|item| match item {
                        Expr::Rel(_, lhs, rhs) => show(lhs) == show(n) && equal(v, rhs, rules),
                        _ => false,
                    })
                })
        }
        // A list of assignments `a = 4, b = 5` against the values `4, 5`, in order.
        (Expr::Set(g), Expr::Set(p) | Expr::Tuple(p))
        | (Expr::Set(p) | Expr::Tuple(p), Expr::Set(g))
            if g.iter().chain(p.iter()).any(is_assignment) =>
        {
            if g.iter().all(is_assignment) && p.iter().all(is_assignment) {
                // Both name their values: match by name, in any order.
                return unordered(g, p, rules);
            }
            let (gv, pv) = (values(g), values(p));
            let both_lists = matches!((&gold, &pred), (Expr::Set(_), Expr::Set(_)));
            ordered(&gv, &pv, rules) || (both_lists && unordered(&gv, &pv, rules))
        }
        (Expr::Set(g), Expr::Set(p)) => unordered(g, p, rules),
        (Expr::Set(g), other) | (other, Expr::Set(g)) if g.len() == 1 => equal(&g[0], other, rules),
        (Expr::Union(g), Expr::Union(p)) => unordered(g, p, rules),
        (Expr::Tuple(g), Expr::Tuple(p)) => ordered(g, p, rules),
        (Expr::Set(g), Expr::Tuple(p)) | (Expr::Tuple(p), Expr::Set(g)) if rules.lenient_lists => {
            ordered(g, p, rules)
        }
        (Expr::Tuple(t), Expr::Interval(a, b, false, false))
        | (Expr::Interval(a, b, false, false), Expr::Tuple(t)) => {
            t.len() == 2 && equal(&t[0], a, rules) && equal(&t[1], b, rules)
        }
        (Expr::Interval(ga, gb, gl, gr), Expr::Interval(pa, pb, pl, pr)) => {
            gl == pl && gr == pr && equal(ga, pa, rules) && equal(gb, pb, rules)
        }
        (Expr::Matrix(g), Expr::Matrix(p)) => {
            g.len() == p.len() && g.iter().zip(p).all(|(gr, pr)| ordered(gr, pr, rules))
        }
        (Expr::Matrix(g), Expr::Tuple(p)) | (Expr::Tuple(p), Expr::Matrix(g)) => {
            // A column or row vector written as a tuple.
            let flat: Vec<Expr> = g.iter().flatten().cloned().collect();
            (g.len() == 1 || g.iter().all(|r| r.len() == 1)) && ordered(&flat, p, rules)
        }
        _ if is_scalar(gold) && is_scalar(pred) => scalars_equal(gold, pred, rules),
        _ => show(gold) == show(pred),
    }
}

/// A left-hand side that names a quantity rather than computing one: `x`, `(x, y)`, `f(x)`,
/// `|AB|`, `AB`, `V_1 : V_2`.
fn is_name(e: &Expr) -> bool {
    match e {
        Expr::Sym(_) => true,
        Expr::Tuple(items) | Expr::Mul(items) => items.iter().all(is_name),
        Expr::Func(_, a) => is_name(a),
        Expr::Div(a, b) => is_name(a) && is_name(b),
        _ => false,
    }
}

fn is_assignment(e: &Expr) -> bool {
    matches!(e, Expr::Rel(Rel::Eq, lhs, _) if is_name(lhs))
}

/// The values of a list whose items may be assignments.
fn values(items: &[Expr]) -> Vec<Expr> {
    items
        .iter()
        .map(|e| match e {
            Expr::Rel(Rel::Eq, lhs, v) if is_name(lhs) => (**v).clone(),
            other => other.clone(),
        })
        .collect()
}

fn is_scalar(e: &Expr) -> bool {
    !matches!(
        e,
        Expr::Tuple(_)
            | Expr::Set(_)
            | Expr::Interval(..)
            | Expr::Union(_)
            | Expr::Matrix(_)
            | Expr::Rel(..)
    )
}

/// `a ± b` becomes the set `{a + b, a - b}` (and a set's members are expanded and flattened);
/// anything else is itself, borrowed.
fn expand_pm(e: &Expr) -> Cow<'_, Expr> {
    let expands = |item: &Expr| matches!(item, Expr::PlusMinus(..) | Expr::Set(_));
    match e {
        Expr::PlusMinus(..) => Cow::Owned(expanded(e)),
        Expr::Set(items) if items.iter().any(expands) => Cow::Owned(expanded(e)),
        other => Cow::Borrowed(other),
    }
}

fn expanded(e: &Expr) -> Expr {
    match e {
        Expr::PlusMinus(a, b) => {
            let a = expanded(a);
            let b = expanded(b);
            if matches!(&a, Expr::Num(q, _) if q.is_zero()) {
                return Expr::Set(vec![b.clone(), Expr::Neg(Box::new(b))]);
            }
            Expr::Set(vec![
                Expr::Add(vec![a.clone(), b.clone()]),
                Expr::Add(vec![a, Expr::Neg(Box::new(b))]),
            ])
        }
        Expr::Set(items) => Expr::Set(items.iter().map(expanded).flat_map(flatten_set).collect()),
        other => other.clone(),
    }
}

fn flatten_set(e: Expr) -> Vec<Expr> {
    match e {
        Expr::Set(items) => items,
        other => vec![other],
    }
}

fn ordered(g: &[Expr], p: &[Expr], rules: &Rules) -> bool {
    g.len() == p.len() && g.iter().zip(p).all(|(a, b)| equal(a, b, rules))
}

/// Set members without repeats (`{1, 2, 2}` is `{1, 2}`).
fn distinct(items: &[Expr]) -> Vec<Expr> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let key = show(item);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item.clone());
        }
    }
    out
}

fn unordered(g: &[Expr], p: &[Expr], rules: &Rules) -> bool {
    let (g, p) = (&distinct(g)[..], &distinct(p)[..]);
    if g.len() != p.len() || g.len() > 64 {
        return g.len() == p.len() && show(&Expr::Set(g.to_vec())) == show(&Expr::Set(p.to_vec()));
    }
    let mut used = vec![false; p.len()];
    g.iter().all(|a| {
        let hit = p.iter().enumerate().find(|(i, b)| !used[*i] && equal(a, b, rules));
        hit.map(|(i, _)| used[i] = true).is_some()
    })
}

/// Two numbers or expressions.
fn scalars_equal(g: &Expr, p: &Expr, rules: &Rules) -> bool {
    if g == p {
        return true;
    }
    // Factorials are the one costly exact value (`2004!` has 19 k bits). Sides whose sizes
    // differ by more than rounding cannot be equal, whichever check below would decide; not
    // where a stated precision makes near values equal (a percent has no magnitude here).
    if (has_factorial(g) || has_factorial(p))
        && decimals(g).max(decimals(p)).is_none_or(|d| d < MIN_ROUNDED_DECIMALS)
        && let (Some(a), Some(b)) = (ln_magnitude(g), ln_magnitude(p))
        && (a - b).abs() > 1e-6 * a.abs().max(b.abs()).max(1.0)
    {
        return false;
    }
    // Where both sides have exact values, those decide (the same canonical text would mean
    // the same value, so the text is compared only after).
    if let (Some(a), Some(b)) = (exact(g), exact(p)) {
        // A percent sign is ignored on the gold (`12.5%` = 12.5) and between whole numbers
        // (`28` = `28%`); a fractional answer given as a percent must be the gold / 100.
        if a == b && (is_percent(g) == is_percent(p) || is_percent(g) || a.is_integer()) {
            return true;
        }
        if rules.percent_is_fraction && percent_variants(g, p, &a, &b) {
            return true;
        }
        // Stated precision: `0.333333` stands for 1/3.
        return match (decimals(g), decimals(p)) {
            (Some(d), _) if d >= MIN_ROUNDED_DECIMALS => rounds_to(&b, &a, d),
            (_, Some(d)) if d >= MIN_ROUNDED_DECIMALS => rounds_to(&a, &b, d),
            _ => false,
        };
    }
    if show(g) == show(p) {
        return true;
    }
    // Too large to evaluate: powers with the same exact base and exponent are equal.
    if let (Expr::Pow(gb, ge), Expr::Pow(pb, pe)) = (g, p)
        && let (Some(gb), Some(pb)) = (exact(gb), exact(pb))
        && gb == pb
        && let (Some(ge), Some(pe)) = (exact(ge), exact(pe))
    {
        return ge == pe;
    }
    let mut names = Vec::new();
    symbols(g, &mut names);
    symbols(p, &mut names);
    if names.len() > POINTS[0].len() {
        return false;
    }
    let precision = decimals(g).or(decimals(p)).filter(|d| *d >= MIN_ROUNDED_DECIMALS);
    let mut compared = 0;
    for point in &POINTS {
        let var = |name: &str| names.iter().position(|n| n == name).map_or(f64::NAN, |i| point[i]);
        let (a, b) = (numeric(g, &var), numeric(p, &var));
        if !a.is_finite() || !b.is_finite() {
            continue;
        }
        if !close(a, b, rules.float_tolerance, precision) {
            return false;
        }
        compared += 1;
        if names.is_empty() {
            break;
        }
    }
    compared > 0 && (names.is_empty() || compared >= 2)
}

fn close(a: C, b: C, tolerance: f64, precision: Option<u32>) -> bool {
    let scale = 1f64.max(a.re.abs()).max(b.re.abs()).max(a.im.abs()).max(b.im.abs());
    let tol = match precision {
        Some(d) => (0.5 * 10f64.powi(-(d as i32))).max(tolerance * scale),
        None => tolerance * scale,
    };
    (a.re - b.re).abs() <= tol && (a.im - b.im).abs() <= tol
}

fn percent_variants(g: &Expr, p: &Expr, a: &BigRational, b: &BigRational) -> bool {
    let hundredth = BigRational::new_raw(1.into(), 100.into());
    let (gp, pp) = (is_percent(g), is_percent(p));
    (gp && !pp && *b == mul(a, &hundredth)) || (pp && !gp && *a == mul(b, &hundredth))
}

fn is_percent(e: &Expr) -> bool {
    match e {
        Expr::Percent(_) => true,
        Expr::Neg(a) => is_percent(a),
        _ => false,
    }
}

/// Decimal places of a number written with a decimal point (possibly negated or in percent).
fn decimals(e: &Expr) -> Option<u32> {
    match e {
        Expr::Num(_, d) => *d,
        Expr::Neg(a) | Expr::Percent(a) => decimals(a),
        _ => None,
    }
}

/// Whether `value` rounded to `places` decimals is `shown`.
fn rounds_to(value: &BigRational, shown: &BigRational, places: u32) -> bool {
    let scale =
        BigRational::from_integer(num_traits::pow(num_bigint::BigInt::from(10), places as usize));
    let twice = BigRational::from_integer(2.into());
    let diff = add(value, &-shown.clone()).abs();
    mul(&mul(&diff, &scale), &twice) <= BigRational::one()
}

/// Two relations: equations up to a nonzero factor, inequalities up to a positive one.
fn relations_equal(g: (Rel, &Expr, &Expr), p: (Rel, &Expr, &Expr)) -> bool {
    let (gr, gf) = normal(g);
    let (pr, pf) = normal(p);
    if gr != pr {
        return false;
    }
    let mut names = Vec::new();
    symbols(&gf, &mut names);
    symbols(&pf, &mut names);
    if names.len() > POINTS[0].len() {
        return false;
    }
    let mut ratio: Option<f64> = None;
    let mut compared = 0;
    for point in &POINTS {
        let var = |name: &str| names.iter().position(|n| n == name).map_or(f64::NAN, |i| point[i]);
        let (a, b) = (numeric(&gf, &var), numeric(&pf, &var));
        if !a.is_finite() || !b.is_finite() || a.im != 0.0 || b.im != 0.0 {
            continue;
        }
        if a.re.abs() < 1e-12 && b.re.abs() < 1e-12 {
            compared += 1;
            continue;
        }
        if a.re.abs() < 1e-12 || b.re.abs() < 1e-12 {
            return false;
        }
        let r = b.re / a.re;
        match ratio {
            None => ratio = Some(r),
            Some(r0) if ((r - r0) / r0).abs() > 1e-9 => return false,
            _ => {}
        }
        compared += 1;
    }
    let sign_ok = match gr {
        Rel::Eq | Rel::Ne => true,
        _ => ratio.is_none_or(|r| r > 0.0),
    };
    compared >= 2 && sign_ok
}

/// A relation as `(op, lhs - rhs)` with `>`/`≥` flipped to `<`/`≤`.
fn normal((rel, lhs, rhs): (Rel, &Expr, &Expr)) -> (Rel, Expr) {
    let diff = |a: &Expr, b: &Expr| Expr::Add(vec![a.clone(), Expr::Neg(Box::new(b.clone()))]);
    match rel {
        Rel::Gt => (Rel::Lt, diff(rhs, lhs)),
        Rel::Ge => (Rel::Le, diff(rhs, lhs)),
        other => (other, diff(lhs, rhs)),
    }
}

/// `x > 2` as the interval `(2, ∞)`, for a variable against a constant.
fn as_interval(e: &Expr) -> Option<Expr> {
    let Expr::Rel(rel, lhs, rhs) = e else { return None };
    let (rel, bound) = match (lhs.as_ref(), rhs.as_ref()) {
        (Expr::Sym(_), b) if exact(b).is_some() || numeric(b, &|_| f64::NAN).is_finite() => {
            (*rel, b.clone())
        }
        (b, Expr::Sym(_)) => (flip(*rel), b.clone()),
        _ => return None,
    };
    let inf = || Box::new(Expr::Inf);
    let ninf = || Box::new(Expr::Neg(Box::new(Expr::Inf)));
    let b = Box::new(bound);
    Some(match rel {
        Rel::Gt => Expr::Interval(b, inf(), false, false),
        Rel::Ge => Expr::Interval(b, inf(), true, false),
        Rel::Lt => Expr::Interval(ninf(), b, false, false),
        Rel::Le => Expr::Interval(ninf(), b, false, true),
        _ => return None,
    })
}

fn flip(rel: Rel) -> Rel {
    match rel {
        Rel::Lt => Rel::Gt,
        Rel::Le => Rel::Ge,
        Rel::Gt => Rel::Lt,
        Rel::Ge => Rel::Le,
        other => other,
    }
}
