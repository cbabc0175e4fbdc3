//! The expression tree, and parsing tokens into it.

use num_bigint::BigInt;
use num_rational::BigRational;

use crate::lex::Tok;

/// Deepest nesting the parser follows; deeper input is refused rather than overflowing.
const MAX_DEPTH: usize = 120;
/// Most tokens an answer may have.
pub const MAX_TOKENS: usize = 4000;

/// A relation between two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    /// `=`
    Eq,
    /// `≠`
    Ne,
    /// `<`
    Lt,
    /// `≤`
    Le,
    /// `>`
    Gt,
    /// `≥`
    Ge,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// An exact number; `decimals` is the number of decimal places written (`None` for
    /// integers and fractions), so stated precision can be honoured.
    Num(BigRational, Option<u32>),
    /// A named variable.
    Sym(String),
    /// π.
    Pi,
    /// Euler's number.
    E,
    /// The imaginary unit.
    I,
    /// ∞ (positive).
    Inf,
    /// A sum.
    Add(Vec<Expr>),
    /// A product.
    Mul(Vec<Expr>),
    /// A power.
    Pow(Box<Expr>, Box<Expr>),
    /// A quotient.
    Div(Box<Expr>, Box<Expr>),
    /// A negation.
    Neg(Box<Expr>),
    /// A function of one argument (`sqrt`, `sin`, `ln`, …); `root` holds `\sqrt[n]`.
    Func(String, Box<Expr>),
    /// `n!`.
    Factorial(Box<Expr>),
    /// `a ± b`: two values.
    PlusMinus(Box<Expr>, Box<Expr>),
    /// `x%`.
    Percent(Box<Expr>),
    /// An ordered tuple `(a, b)`.
    Tuple(Vec<Expr>),
    /// An unordered set `{a, b}`, or a bare list `a, b`.
    Set(Vec<Expr>),
    /// An interval with its ends' closedness.
    Interval(Box<Expr>, Box<Expr>, bool, bool),
    /// A union of intervals or sets.
    Union(Vec<Expr>),
    /// A matrix, by rows.
    Matrix(Vec<Vec<Expr>>),
    /// A relation chain `a = b`, `a < b` (the last two sides are kept).
    Rel(Rel, Box<Expr>, Box<Expr>),
}

/// Why an answer could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

/// Parses tokens into an expression.
pub fn parse(toks: &[Tok<'_>]) -> Result<Expr, ParseError> {
    if toks.is_empty() {
        return Err(ParseError("empty answer".into()));
    }
    if toks.len() > MAX_TOKENS {
        return Err(ParseError(format!("answer has {} tokens (cap {MAX_TOKENS})", toks.len())));
    }
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let expr = p.list()?;
    if p.pos < toks.len() {
        return Err(ParseError(format!("unexpected {:?}", toks[p.pos])));
    }
    Ok(expr)
}

struct Parser<'a> {
    toks: &'a [Tok<'a>],
    pos: usize,
    depth: usize,
}

fn int(n: i64) -> Expr {
    Expr::Num(BigRational::from_integer(BigInt::from(n)), None)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok<'a>> {
        self.toks.get(self.pos)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_cmd(&self, names: &[&str]) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(c)) if names.contains(c))
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if *w == word)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.is_op(op);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_op(&mut self, op: &str) -> Result<(), ParseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(ParseError(format!("expected `{op}` at token {}", self.pos)))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    /// A comma (or `and`/`or`/`;`) separated list; one item is just that item.
    fn list(&mut self) -> Result<Expr, ParseError> {
        let first = self.relation()?;
        if !(self.is_op(",") || self.is_op(";") || self.is_word("and") || self.is_word("or")) {
            // One item, as nearly every answer: no list to build.
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            if self.eat_op(",") || self.eat_op(";") || self.eat_word("and") || self.eat_word("or") {
                // `19, 46, and 82`: separators may repeat.
                while self.eat_op(",") || self.eat_word("and") || self.eat_word("or") {}
                if self.at_end() {
                    break;
                }
                items.push(self.relation()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 { items.pop().unwrap() } else { Expr::Set(items) })
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.is_word(word);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len() || self.is_op(")") || self.is_op("]") || self.is_op("}")
    }

    fn rel_op(&mut self) -> Option<Rel> {
        let rel = match self.peek()? {
            Tok::Op("=") => Rel::Eq,
            Tok::Op("<") => Rel::Lt,
            Tok::Op(">") => Rel::Gt,
            Tok::Op("<=") => Rel::Le,
            Tok::Op(">=") => Rel::Ge,
            Tok::Op("!=") => Rel::Ne,
            Tok::Cmd(c) => match *c {
                "le" | "leq" | "leqslant" => Rel::Le,
                "ge" | "geq" | "geqslant" => Rel::Ge,
                "ne" | "neq" => Rel::Ne,
                "lt" => Rel::Lt,
                "gt" => Rel::Gt,
                "approx" | "equiv" => Rel::Eq,
                _ => return None,
            },
            _ => return None,
        };
        self.pos += 1;
        Some(rel)
    }

    /// `a = b`, `a < b < c` (kept as the last pair, with the first for two-sided bounds).
    fn relation(&mut self) -> Result<Expr, ParseError> {
        let first = self.union()?;
        if self.is_cmd(&["in"]) {
            // `x \in [2, 3)`: the answer is the set.
            self.pos += 1;
            return self.union();
        }
        let Some(rel) = self.rel_op() else { return Ok(first) };
        let mut sides = vec![first, self.union()?];
        let mut rels = vec![rel];
        while let Some(rel) = self.rel_op() {
            rels.push(rel);
            sides.push(self.union()?);
        }
        match rels.len() {
            1 => {
                let rhs = sides.pop().unwrap();
                Ok(Expr::Rel(rels[0], Box::new(sides.pop().unwrap()), Box::new(rhs)))
            }
            _ if rels.iter().all(|r| *r == Rel::Eq) => {
                // `x = 5 + 6 = 11`: what is named, and the chain's final value.
                let rhs = sides.pop().unwrap();
                let lhs = sides.swap_remove(0);
                Ok(Expr::Rel(Rel::Eq, Box::new(lhs), Box::new(rhs)))
            }
            2 => {
                // `a < x < b` as an interval over x.
                let (lo, hi) = (sides[0].clone(), sides[2].clone());
                let closed = |r: Rel| matches!(r, Rel::Le | Rel::Ge);
                if matches!(rels[0], Rel::Lt | Rel::Le) && matches!(rels[1], Rel::Lt | Rel::Le) {
                    Ok(Expr::Interval(Box::new(lo), Box::new(hi), closed(rels[0]), closed(rels[1])))
                } else if matches!(rels[0], Rel::Gt | Rel::Ge)
                    && matches!(rels[1], Rel::Gt | Rel::Ge)
                {
                    Ok(Expr::Interval(Box::new(hi), Box::new(lo), closed(rels[1]), closed(rels[0])))
                } else {
                    Err(ParseError("mixed relation chain".into()))
                }
            }
            _ => Err(ParseError("relation chain too long".into())),
        }
    }

    fn union(&mut self) -> Result<Expr, ParseError> {
        let first = self.sum()?;
        if !self.is_cmd(&["cup"]) && !(self.is_word("U")) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.is_cmd(&["cup"]) || self.is_word("U") {
            self.pos += 1;
            parts.push(self.sum()?);
        }
        Ok(Expr::Union(parts))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let first = self.product()?;
        if !(self.is_op("+") || self.is_op("-") || self.is_cmd(&["pm", "mp"])) {
            self.depth -= 1;
            return Ok(first);
        }
        let mut terms = vec![first];
        loop {
            if self.eat_op("+") {
                terms.push(self.product()?);
            } else if self.eat_op("-") {
                terms.push(Expr::Neg(Box::new(self.product()?)));
            } else if self.is_cmd(&["pm", "mp"]) {
                self.pos += 1;
                let rest = self.product()?;
                let base = if terms.len() == 1 {
                    terms.pop().unwrap()
                } else {
                    Expr::Add(std::mem::take(&mut terms))
                };
                terms = vec![Expr::PlusMinus(Box::new(base), Box::new(rest))];
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(if terms.len() == 1 { terms.pop().unwrap() } else { Expr::Add(terms) })
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut factor = self.unary()?;
        loop {
            if self.eat_op("*") || self.is_cmd(&["cdot", "times", "ast"]) && self.bump() {
                let rhs = self.unary()?;
                factor = mul(factor, rhs);
            } else if self.eat_op("/") || self.eat_op(":") || self.is_cmd(&["div"]) && self.bump() {
                let rhs = self.unary()?;
                factor = Expr::Div(Box::new(factor), Box::new(rhs));
            } else if let Some(mixed) = self.mixed_number(&factor)? {
                factor = mixed;
            } else if self.is_cmd(&["percent"]) {
                self.pos += 1;
                factor = Expr::Percent(Box::new(factor));
            } else if self.starts_primary() {
                let rhs = self.power()?;
                factor = mul(factor, rhs);
            } else {
                break;
            }
        }
        Ok(factor)
    }

    /// `2\frac{1}{4}` or `2 1/4` right after a whole number: a mixed number, 2 + 1/4.
    fn mixed_number(&mut self, whole: &Expr) -> Result<Option<Expr>, ParseError> {
        let (negative, whole) = match whole {
            Expr::Neg(inner) => (true, inner.as_ref()),
            other => (false, other),
        };
        let Expr::Num(w, None) = whole else { return Ok(None) };
        if !w.is_integer() {
            return Ok(None);
        }
        let proper = |p: &BigInt, q: &BigInt| p < q && *q > BigInt::from(0);
        let plain = match (
            self.toks.get(self.pos),
            self.toks.get(self.pos + 1),
            self.toks.get(self.pos + 2),
        ) {
            (
                Some(Tok::Num { int: p, frac: pf, exp: 0 }),
                Some(Tok::Op("/")),
                Some(Tok::Num { int: q, frac: qf, exp: 0 }),
            ) if pf.is_empty() && qf.is_empty() => {
                Some((p.parse::<BigInt>().ok(), q.parse::<BigInt>().ok()))
            }
            _ => None,
        };
        let fraction = if let Some((Some(p), Some(q))) = plain {
            if !proper(&p, &q) {
                return Ok(None);
            }
            self.pos += 3;
            BigRational::new(p, q)
        } else if self.is_cmd(&["frac", "dfrac", "tfrac"]) {
            let save = self.pos;
            self.pos += 1;
            let frac = self.command("frac")?;
            let proper_fraction = match &frac {
                Expr::Div(a, b) => match (a.as_ref(), b.as_ref()) {
                    (Expr::Num(p, None), Expr::Num(q, None))
                        if p.is_integer()
                            && q.is_integer()
                            && proper(&p.to_integer(), &q.to_integer()) =>
                    {
                        Some(p / q)
                    }
                    _ => None,
                },
                _ => None,
            };
            match proper_fraction {
                Some(f) => f,
                None => {
                    self.pos = save;
                    return Ok(None);
                }
            }
        } else {
            return Ok(None);
        };
        let value = w + fraction;
        Ok(Some(Expr::Num(if negative { -value } else { value }, None)))
    }

    fn bump(&mut self) -> bool {
        self.pos += 1;
        true
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Some(Tok::Num { .. }) => true,
            Some(Tok::Ident(w)) => !matches!(*w, "and" | "or"),
            Some(Tok::Op("(")) => true,
            Some(Tok::Op("{")) => false,
            Some(Tok::Cmd(c)) => matches!(
                *c,
                "frac"
                    | "dfrac"
                    | "tfrac"
                    | "cfrac"
                    | "sqrt"
                    | "pi"
                    | "infty"
                    | "sin"
                    | "cos"
                    | "tan"
                    | "cot"
                    | "sec"
                    | "csc"
                    | "ln"
                    | "log"
                    | "exp"
                    | "arcsin"
                    | "arccos"
                    | "arctan"
                    | "left"
                    | "mathrm"
                    | "mathbf"
                    | "text"
                    | "textbf"
                    | "mathit"
                    | "operatorname"
                    | "binom"
                    | "dbinom"
                    | "tbinom"
                    | "e"
                    | "lfloor"
                    | "lceil"
                    | "alpha"
                    | "beta"
                    | "theta"
                    | "lambda"
                    | "mu"
                    | "sigma"
                    | "phi"
                    | "omega"
                    | "gamma"
                    | "delta"
            ),
            _ => false,
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_op("+") {
            return self.unary();
        }
        if self.is_cmd(&["pm"]) {
            self.pos += 1;
            let value = self.unary()?;
            return Ok(Expr::PlusMinus(Box::new(int(0)), Box::new(value)));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut base = self.postfix()?;
        if self.eat_op("^") || self.eat_op("**") {
            let exp = if self.is_op("{") { self.group()? } else { self.unary_power()? };
            base = Expr::Pow(Box::new(base), Box::new(exp));
        }
        self.depth -= 1;
        Ok(base)
    }

    /// An exponent without braces: `x^2`, `x^-1`, `2^{...}`, `e^x`.
    fn unary_power(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary_power()?)));
        }
        if let Some(Tok::Num { int: digits, frac, exp }) = self.peek().cloned() {
            // `x^23` in LaTeX means x^2 · 3 only by a quirk; read a single digit as LaTeX does.
            if frac.is_empty() && exp == 0 && digits.len() > 1 {
                self.pos += 1;
                return Ok(int(digits[..1].parse().unwrap_or(0)));
            }
        }
        self.power()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            if self.eat_op("!") {
                e = Expr::Factorial(Box::new(e));
            } else if self.is_cmd(&["percent"]) {
                self.pos += 1;
                e = Expr::Percent(Box::new(e));
            } else if self.is_cmd(&["circ"]) {
                self.pos += 1;
            } else if self.eat_op("_") {
                // Subscripts name a variable (`x_1`) or a base (`1010_2`): keep the subscript text.
                let sub = self.primary()?;
                e = match e {
                    Expr::Sym(name) => Expr::Sym(format!("{name}_{}", crate::canon::show(&sub))),
                    other => other,
                };
            } else if self.eat_op("'") {
                e = match e {
                    Expr::Sym(name) => Expr::Sym(format!("{name}'")),
                    other => other,
                };
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn group(&mut self) -> Result<Expr, ParseError> {
        self.expect_op("{")?;
        if self.eat_op("}") {
            return Ok(Expr::Set(Vec::new()));
        }
        let e = self.list()?;
        self.expect_op("}")?;
        Ok(e)
    }

    /// A `\frac` argument: a braced group, or one digit / letter (`\frac12`).
    fn frac_arg(&mut self, pending: &mut Option<String>) -> Result<Expr, ParseError> {
        if let Some(rest) = pending.take() {
            return Ok(int(rest.parse().unwrap_or(0)));
        }
        if self.is_op("{") {
            return self.group();
        }
        if let Some(Tok::Num { int: digits, frac, exp }) = self.peek().cloned()
            && frac.is_empty()
            && exp == 0
            && digits.len() > 1
        {
            self.pos += 1;
            *pending = Some(digits[1..].to_owned());
            return Ok(int(digits[..1].parse().unwrap_or(0)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let result = self.primary_inner();
        self.depth -= 1;
        result
    }

    fn primary_inner(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.peek() else {
            return Err(ParseError("answer ends early".into()));
        };
        self.pos += 1;
        match tok {
            Tok::Num { int: digits, frac, exp } => Ok(number(digits, frac, *exp)),
            Tok::Ident(word) => self.ident(word),
            Tok::Op("(") => self.bracketed(false),
            Tok::Op("[") => self.bracketed(true),
            Tok::Op("{") => {
                self.pos -= 1;
                self.group()
            }
            Tok::Op("|") => {
                let inner = self.sum()?;
                self.expect_op("|")?;
                Ok(Expr::Func("abs".into(), Box::new(inner)))
            }
            Tok::Cmd(cmd) => self.command(cmd),
            other => Err(ParseError(format!("unexpected {other:?}"))),
        }
    }

    fn ident(&mut self, word: &str) -> Result<Expr, ParseError> {
        Ok(match word {
            "pi" => Expr::Pi,
            "e" => Expr::E,
            "i" => Expr::I,
            "inf" | "infty" | "oo" => Expr::Inf,
            "sqrt" | "sin" | "cos" | "tan" | "cot" | "sec" | "csc" | "arcsin" | "arccos"
            | "arctan" | "sinh" | "cosh" | "tanh" | "log" | "ln" | "exp" | "abs" => {
                // `sin(x)**3`: a call binds tighter than the power that follows it.
                let arg = if self.is_op("(") { self.primary()? } else { self.power()? };
                Expr::Func(word.to_owned(), Box::new(arg))
            }
            _ => Expr::Sym(word.to_owned()),
        })
    }

    /// `( … )` or `[ … ]`: a group, a tuple, or an interval when the closer differs or the
    /// opener is `[`.
    fn bracketed(&mut self, square: bool) -> Result<Expr, ParseError> {
        let first = self.list()?;
        let close_round = self.eat_op(")");
        let close_square = !close_round && self.eat_op("]");
        if !close_round && !close_square {
            return Err(ParseError("unclosed bracket".into()));
        }
        let items = match first {
            Expr::Set(items) => items,
            single => {
                if square && close_square {
                    return Ok(single);
                }
                return Ok(single);
            }
        };
        if items.len() == 2 && (square || close_square) {
            let mut it = items.into_iter();
            let (lo, hi) = (it.next().unwrap(), it.next().unwrap());
            return Ok(Expr::Interval(Box::new(lo), Box::new(hi), square, close_square));
        }
        Ok(Expr::Tuple(items))
    }

    fn command(&mut self, cmd: &str) -> Result<Expr, ParseError> {
        match cmd {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let mut pending = None;
                let num = self.frac_arg(&mut pending)?;
                let den = self.frac_arg(&mut pending)?;
                Ok(Expr::Div(Box::new(num), Box::new(den)))
            }
            "binom" | "dbinom" | "tbinom" => {
                let mut pending = None;
                let n = self.frac_arg(&mut pending)?;
                let k = self.frac_arg(&mut pending)?;
                Ok(Expr::Func("binom".into(), Box::new(Expr::Tuple(vec![n, k]))))
            }
            "sqrt" => {
                if self.eat_op("[") {
                    let n = self.sum()?;
                    self.expect_op("]")?;
                    let arg = self.sqrt_arg()?;
                    return Ok(Expr::Pow(
                        Box::new(arg),
                        Box::new(Expr::Div(Box::new(int(1)), Box::new(n))),
                    ));
                }
                let arg = self.sqrt_arg()?;
                Ok(Expr::Func("sqrt".into(), Box::new(arg)))
            }
            "pi" => Ok(Expr::Pi),
            "infty" | "infinity" => Ok(Expr::Inf),
            "e" => Ok(Expr::E),
            "emptyset" | "varnothing" => Ok(Expr::Set(Vec::new())),
            "sin" | "cos" | "tan" | "cot" | "sec" | "csc" | "ln" | "log" | "exp" | "arcsin"
            | "arccos" | "arctan" | "sinh" | "cosh" | "tanh" => {
                // `\sin^2 x` is (sin x)^2.
                let power = if self.eat_op("^") {
                    Some(if self.is_op("{") { self.group()? } else { self.unary_power()? })
                } else {
                    None
                };
                // `\log_2 8`: a base.
                let base =
                    if cmd == "log" && self.eat_op("_") { Some(self.primary()?) } else { None };
                let mut arg = self.power()?;
                // `\cos 2x` is cos(2x).
                if matches!(arg, Expr::Num(..))
                    && matches!(self.peek(), Some(Tok::Ident(w)) if w.len() == 1)
                {
                    arg = mul(arg, self.power()?);
                }
                let inverse = matches!(&power, Some(Expr::Neg(one)) if **one == int(1));
                let name = if inverse { format!("arc{cmd}") } else { cmd.to_owned() };
                let f = match base {
                    Some(b) => Expr::Div(
                        Box::new(Expr::Func("ln".into(), Box::new(arg))),
                        Box::new(Expr::Func("ln".into(), Box::new(b))),
                    ),
                    None => Expr::Func(name, Box::new(arg)),
                };
                Ok(match power {
                    Some(p) if !inverse => Expr::Pow(Box::new(f), Box::new(p)),
                    _ => f,
                })
            }
            "left" | "right" | "big" | "Big" | "bigl" | "bigr" | "Bigl" | "Bigr" => {
                if self.is_cmd(&["{"]) {
                    self.pos += 1;
                }
                self.primary()
            }
            "lfloor" | "lceil" => {
                let inner = self.sum()?;
                if self.is_cmd(&["rfloor", "rceil"]) {
                    self.pos += 1;
                }
                Ok(Expr::Func(
                    if cmd == "lfloor" { "floor" } else { "ceil" }.into(),
                    Box::new(inner),
                ))
            }
            "text" | "textbf" | "mathrm" | "mathbf" | "mathit" | "textit" | "boldsymbol"
            | "mbox" | "operatorname" | "displaystyle" | "mathbb" => {
                // `\mathbb{R}`: the whole real line.
                if cmd == "mathbb"
                    && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(r)) if *r == "R")
                {
                    self.pos += 3;
                    let (lo, hi) = (Expr::Neg(Box::new(Expr::Inf)), Expr::Inf);
                    return Ok(Expr::Interval(Box::new(lo), Box::new(hi), false, false));
                }
                if cmd == "displaystyle" {
                    return self.primary();
                }
                self.group()
            }
            "begin" => self.environment(),
            "alpha" | "beta" | "gamma" | "delta" | "theta" | "lambda" | "mu" | "sigma" | "phi"
            | "omega" | "varphi" | "rho" | "tau" | "epsilon" => Ok(Expr::Sym(cmd.to_owned())),
            other => Err(ParseError(format!("unsupported command \\{other}"))),
        }
    }

    fn sqrt_arg(&mut self) -> Result<Expr, ParseError> {
        if self.is_op("{") {
            return self.group();
        }
        if let Some(Tok::Num { int: digits, frac, exp }) = self.peek().cloned()
            && frac.is_empty()
            && exp == 0
        {
            // `\sqrt3` is √3; `\sqrt32` is √3·2 in LaTeX, which nobody means: take the number.
            self.pos += 1;
            return Ok(int(digits.parse().unwrap_or(0)));
        }
        self.primary()
    }

    /// `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` and friends.
    fn environment(&mut self) -> Result<Expr, ParseError> {
        self.skip_braced_name()?;
        // `\begin{array}{cc}`: skip the column specification.
        let spec = self.toks[self.pos..].iter().skip(1).take_while(|t| !matches!(t, Tok::Op("}")));
        if self.is_op("{") && spec.clone().all(|t| matches!(t, Tok::Ident(_) | Tok::Op("|"))) {
            self.skip_braced_name()?;
        }
        let mut rows = vec![Vec::new()];
        loop {
            if self.is_cmd(&["end"]) {
                self.pos += 1;
                self.skip_braced_name()?;
                break;
            }
            if self.pos >= self.toks.len() {
                return Err(ParseError("unterminated environment".into()));
            }
            if self.eat_op("&") {
                continue;
            }
            if self.is_cmd(&["newline"]) {
                self.pos += 1;
                rows.push(Vec::new());
                continue;
            }
            let cell = self.sum()?;
            rows.last_mut().unwrap().push(cell);
        }
        rows.retain(|r| !r.is_empty());
        if rows.len() == 1 && rows[0].len() == 1 {
            return Ok(rows.pop().unwrap().pop().unwrap());
        }
        Ok(Expr::Matrix(rows))
    }

    fn skip_braced_name(&mut self) -> Result<(), ParseError> {
        self.expect_op("{")?;
        while !self.eat_op("}") {
            if self.pos >= self.toks.len() {
                return Err(ParseError("unterminated environment name".into()));
            }
            self.pos += 1;
        }
        Ok(())
    }
}

fn mul(a: Expr, b: Expr) -> Expr {
    match a {
        Expr::Mul(mut items) => {
            items.push(b);
            Expr::Mul(items)
        }
        other => Expr::Mul(vec![other, b]),
    }
}

/// The exact value of a written number, with its decimal places.
fn number(digits: &str, frac: &str, exp: i64) -> Expr {
    let mantissa = mantissa(digits, frac);
    let scale = exp - frac.len() as i64;
    let ten = BigInt::from(10);
    let value = if scale == 0 {
        BigRational::from_integer(mantissa)
    } else if scale > 0 {
        BigRational::from_integer(mantissa * num_traits::pow(ten, scale.min(400) as usize))
    } else {
        BigRational::new(mantissa, num_traits::pow(ten, (-scale).min(400) as usize))
    };
    let decimals = (!frac.is_empty() && exp == 0).then_some(frac.len() as u32);
    Expr::Num(value, decimals)
}

/// The integer the digits `digits` then `frac` spell (0 for none). Most numbers fit a `u64`
/// and are read without building text for the big-integer parser.
fn mantissa(digits: &str, frac: &str) -> BigInt {
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.len() + frac.len() <= 19 && all_digits(digits) && all_digits(frac) {
        let value =
            digits.bytes().chain(frac.bytes()).fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        return BigInt::from(value);
    }
    format!("{}{frac}", if digits.is_empty() { "0" } else { digits }).parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Reading digits as a `u64` gives what the big-integer parser gives, on both sides
        /// of the 19 digits that fit.
        #[test]
        fn mantissa_is_the_parsed_digits(digits in "[0-9]{0,22}", frac in "[0-9]{0,22}") {
            let text = format!("{}{frac}", if digits.is_empty() { "0" } else { &digits });
            proptest::prop_assert_eq!(mantissa(&digits, &frac), text.parse::<BigInt>().unwrap());
        }
    }
}
