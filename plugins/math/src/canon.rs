//! A canonical text form of an expression, for structural comparison and messages.

use crate::expr::{Expr, Rel};

/// The expression as canonical text: equal trees give equal text.
pub fn show(e: &Expr) -> String {
    match e {
        Expr::Num(q, _) => q.to_string(),
        Expr::Sym(s) => s.clone(),
        Expr::Pi => "pi".into(),
        Expr::E => "e".into(),
        Expr::I => "i".into(),
        Expr::Inf => "oo".into(),
        Expr::Add(items) => format!("({})", join(items, "+")),
        Expr::Mul(items) => format!("({})", join(items, "*")),
        Expr::Pow(a, b) => format!("({})^({})", show(a), show(b)),
        Expr::Div(a, b) => format!("({})/({})", show(a), show(b)),
        Expr::Neg(a) => format!("-({})", show(a)),
        Expr::Func(f, a) => format!("{f}({})", show(a)),
        Expr::Factorial(a) => format!("({})!", show(a)),
        Expr::PlusMinus(a, b) => format!("({})±({})", show(a), show(b)),
        Expr::Percent(a) => format!("({})%", show(a)),
        Expr::Tuple(items) => format!("tuple({})", join(items, ",")),
        Expr::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(show).collect();
            parts.sort();
            format!("set({})", parts.join(","))
        }
        Expr::Interval(a, b, lc, rc) => {
            format!(
                "{}{},{}{}",
                if *lc { '[' } else { '(' },
                show(a),
                show(b),
                if *rc { ']' } else { ')' }
            )
        }
        Expr::Union(items) => format!("union({})", join(items, ",")),
        Expr::Matrix(rows) => {
            format!("matrix({})", rows.iter().map(|r| join(r, ",")).collect::<Vec<_>>().join(";"))
        }
        Expr::Rel(r, a, b) => format!("{}{}{}", show(a), rel(*r), show(b)),
    }
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

fn join(items: &[Expr], sep: &str) -> String {
    items.iter().map(show).collect::<Vec<_>>().join(sep)
}
