//! A canonical text form of an expression, for structural comparison and messages.

use std::fmt::Write;

use num_rational::BigRational;
use num_traits::ToPrimitive;

use crate::expr::{Expr, Rel};

/// The expression as canonical text: equal trees give equal text.
pub fn show(e: &Expr) -> String {
    let mut out = String::new();
    write(e, &mut out);
    out
}

/// [`show`] into one buffer: a tree's text is built once, not once per level it is nested in.
fn write(e: &Expr, out: &mut String) {
    let wrapped = |out: &mut String, open: &str, a: &Expr, close: &str| {
        out.push_str(open);
        write(a, out);
        out.push_str(close);
    };
    match e {
        Expr::Num(q, _) => number(q, out),
        Expr::Sym(s) => out.push_str(s),
        Expr::Pi => out.push_str("pi"),
        Expr::E => out.push('e'),
        Expr::I => out.push('i'),
        Expr::Inf => out.push_str("oo"),
        Expr::Add(items) => join(out, "(", items, "+", ")"),
        Expr::Mul(items) => join(out, "(", items, "*", ")"),
        Expr::Pow(a, b) => {
            wrapped(out, "(", a, ")^");
            wrapped(out, "(", b, ")");
        }
        Expr::Div(a, b) => {
            wrapped(out, "(", a, ")/");
            wrapped(out, "(", b, ")");
        }
        Expr::Neg(a) => wrapped(out, "-(", a, ")"),
        Expr::Func(f, a) => {
            out.push_str(f);
            wrapped(out, "(", a, ")");
        }
        Expr::Factorial(a) => wrapped(out, "(", a, ")!"),
        Expr::PlusMinus(a, b) => {
            wrapped(out, "(", a, ")±");
            wrapped(out, "(", b, ")");
        }
        Expr::Percent(a) => wrapped(out, "(", a, ")%"),
        Expr::Tuple(items) => join(out, "tuple(", items, ",", ")"),
        Expr::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(show).collect();
            parts.sort();
            out.push_str("set(");
            out.push_str(&parts.join(","));
            out.push(')');
        }
        Expr::Interval(a, b, lc, rc) => {
            out.push(if *lc { '[' } else { '(' });
            wrapped(out, "", a, ",");
            write(b, out);
            out.push(if *rc { ']' } else { ')' });
        }
        Expr::Union(items) => join(out, "union(", items, ",", ")"),
        Expr::Matrix(rows) => {
            out.push_str("matrix(");
            for (i, row) in rows.iter().enumerate() {
                join(out, if i == 0 { "" } else { ";" }, row, ",", "");
            }
            out.push(')');
        }
        Expr::Rel(r, a, b) => {
            wrapped(out, "", a, rel(*r));
            write(b, out);
        }
    }
}

/// `q` as its `Display` writes it (`7`, `-1/2`). Values that fit machine integers, nearly all
/// of them, are written as those: the big-number `Display` formats into a temporary `String`
/// and converts through big-number division (in the sandbox, 2% of the math plugin's time).
fn number(q: &BigRational, out: &mut String) {
    let written = match (q.numer().to_i64(), q.denom().to_u64()) {
        (Some(n), Some(1)) => write!(out, "{n}"),
        (Some(n), Some(d)) => write!(out, "{n}/{d}"),
        _ => write!(out, "{q}"),
    };
    written.expect("writing to a String cannot fail");
}

fn rel(r: Rel) -> &'static str {
    match r {
        Rel::Eq => "=",
        Rel::Ne => "!=",
        Rel::Lt => "<",
        Rel::Le => "<=",
        Rel::Gt => ">",
        Rel::Ge => ">=",
    }
}

/// `open`, the items' texts separated by `sep`, `close`.
fn join(out: &mut String, open: &str, items: &[Expr], sep: &str, close: &str) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        write(item, out);
    }
    out.push_str(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every shape, as the format-per-level implementation wrote it (pinned:
    /// comparisons of sets and symbols go by this text).
    #[test]
    fn every_shape_has_its_text() {
        let shown = |answer: &str| show(&crate::parse(answer).unwrap());
        assert_eq!(shown("x^2 + 3/4"), "((x)^(2)+(3)/(4))");
        assert_eq!(shown("\\frac{a}{b} - \\sqrt{2}"), "((a)/(b)+-(sqrt(2)))");
        assert_eq!(shown("\\{3, 1\\}"), "set(1,3)");
        assert_eq!(shown("[0, 1)"), "[0,1)");
        assert_eq!(shown("(1, 2)"), "tuple(1,2)");
        assert_eq!(shown("x \\le 5!"), "x<=(5)!");
        assert_eq!(shown("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"), "matrix(1,2;3,4)");
        assert_eq!(shown("2\\pi i \\pm e"), "((2*pi*i))±(e)");
        assert_eq!(shown("50\\%"), "(50)%");
        assert_eq!(shown("(-\\infty, 2] \\cup (3, 4)"), "union((-(oo),2],tuple(3,4))");
        assert_eq!(shown("\\sin x = y"), "sin(x)=y");
    }

    proptest::proptest! {
        /// Numbers are written as the big-number `Display` writes them, small or not.
        #[test]
        fn numbers_are_written_as_display_writes_them(
            numer in proptest::num::i128::ANY,
            denom in 1..=u128::MAX,
            (numer_shift, denom_shift) in (0..128u32, 0..128u32),
        ) {
            // Shifted, so that small values (machine integers) and big ones both come up.
            let denom = (denom >> denom_shift).max(1);
            let q = BigRational::new((numer >> numer_shift).into(), denom.into());
            let mut out = String::new();
            number(&q, &mut out);
            proptest::prop_assert_eq!(out, q.to_string());
        }
    }
}
