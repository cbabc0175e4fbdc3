//! The expression language's syntax: a lexer and a precedence-climbing parser producing an
//! [`Expr`] tree whose nodes keep their byte span, so every later error can point at its
//! column.
//!
//! ```text
//! expr  := "if" expr "then" expr "else" expr | or
//! or    := and ("or" and)*          and := not ("and" not)*        not := "not" not | cmp
//! cmp   := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//! sum   := prod (("+" | "-") prod)*                              prod := unary (("*" | "/") unary)*
//! unary := "-" unary | pow                                         pow  := atom ("^" unary)?
//! atom  := NUMBER | STRING | NAME | NAME "(" args ")" | "(" expr ("," expr)* ")"
//!        | "[" expr ("," expr)* "]" | "{" NAME ":" expr ("," NAME ":" expr)* "}"
//! args  := (arg ("," arg)*)?                                       arg  := (NAME "=")? expr
//! ```
//! A `NAME` may be dotted (`toolcall.correctness`: a source's component).

use std::fmt;

/// A byte range of the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end }
    }
}

/// A syntax error at a position of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where.
    pub at: usize,
    /// What was expected or wrong.
    pub message: String,
}

/// An expression node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and` (short-circuit)
    And,
    /// `or` (short-circuit)
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Pow => "^",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::And => "and",
            Self::Or => "or",
        }
    }
}

/// A call argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The keyword, for `name = value`.
    pub name: Option<String>,
    /// The value.
    pub value: Expr,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number literal.
    Number(f64),
    /// A string literal (`"mcq"`), for comparing with `task` and as `route` keys.
    Text(String),
    /// A source, term, context value or source component (`toolcall.correctness`).
    Name(String),
    /// `-x`
    Neg(Box<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(String, Vec<Arg>),
    /// `(a, b)`: a pair, as in `gated_sum`'s tiers.
    Tuple(Vec<Expr>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{key: expr, ...}`, as in `route`'s arms.
    Map(Vec<(String, Expr)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Name(String),
    Sym(&'static str),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::Name(n) => write!(f, "`{n}`"),
            Tok::Sym(s) => write!(f, "`{s}`"),
            Tok::End => f.write_str("the end of the expression"),
        }
    }
}

const SYMBOLS: [&str; 20] = [
    "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "<", ">", "(", ")", "[", "]", "{", "}", ",",
    ":", "=",
];

fn lex(text: &str) -> Result<Vec<(Tok, Span)>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'.'
                    || bytes[i] == b'_'
                    || ((bytes[i] == b'+' || bytes[i] == b'-')
                        && matches!(bytes[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            let literal = text[start..i].replace('_', "");
            match literal.parse::<f64>() {
                Ok(n) if n.is_finite() => Tok::Num(n),
                _ => {
                    return Err(SyntaxError {
                        at: start,
                        message: format!("`{}` is not a number", &text[start..i]),
                    });
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            let name = &text[start..i];
            if name.ends_with('.') || name.contains("..") {
                return Err(SyntaxError { at: start, message: format!("`{name}` is not a name") });
            }
            Tok::Name(name.to_owned())
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += 1;
            }
            if i == bytes.len() {
                return Err(SyntaxError { at: start, message: "unclosed string".into() });
            }
            i += 1;
            Tok::Str(text[start + 1..i - 1].to_owned())
        } else if let Some(sym) = SYMBOLS.iter().find(|s| text[i..].starts_with(**s)) {
            i += sym.len();
            Tok::Sym(sym)
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            return Err(SyntaxError { at: start, message: format!("unexpected character {ch:?}") });
        };
        out.push((tok, Span { start, end: i }));
    }
    out.push((Tok::End, Span { start: text.len(), end: text.len() }));
    Ok(out)
}

/// Parses one expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = lex(text)?;
    let mut parser = Parser { tokens, at: 0, depth: 0 };
    let expr = parser.expr()?;
    parser.expect_end()?;
    Ok(expr)
}

/// Deepest nesting accepted: parsing recurses, and a policy is written by people.
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<(Tok, Span)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].0
    }

    fn span(&self) -> Span {
        self.tokens[self.at].1
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Tok::Sym(s) if *s == sym)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == word)
    }

    fn error<T>(&self, expected: &str) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            at: self.span().start,
            message: format!("expected {expected}, found {}", self.peek()),
        })
    }

    fn expect_sym(&mut self, sym: &str) -> Result<Span, SyntaxError> {
        if self.is_sym(sym) { Ok(self.bump().1) } else { self.error(&format!("`{sym}`")) }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), SyntaxError> {
        if self.is_word(word) {
            self.bump();
            Ok(())
        } else {
            self.error(&format!("`{word}`"))
        }
    }

    fn expect_end(&self) -> Result<(), SyntaxError> {
        if *self.peek() == Tok::End { Ok(()) } else { self.error("an operator or the end") }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                at: self.span().start,
                message: format!("nested more than {MAX_DEPTH} deep"),
            });
        }
        let result = if self.is_word("if") {
            let start = self.bump().1;
            let cond = self.expr()?;
            self.expect_word("then")?;
            let then = self.expr()?;
            self.expect_word("else")?;
            let otherwise = self.expr()?;
            let span = start.to(otherwise.span);
            Ok(Expr {
                kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                span,
            })
        } else {
            self.binary(0)
        };
        self.depth -= 1;
        result
    }

    /// Binary operators by level: or, and, (not), comparisons, sums, products.
    fn binary(&mut self, level: usize) -> Result<Expr, SyntaxError> {
        const LEVELS: [&[(&str, BinOp)]; 5] = [
            &[("or", BinOp::Or)],
            &[("and", BinOp::And)],
            &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        if level == 2 && self.is_word("not") {
            let start = self.bump().1;
            let inner = self.binary(2)?;
            let span = start.to(inner.span);
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), span });
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = LEVELS[level].iter().find(|(word, _)| match self.peek() {
                Tok::Sym(s) => s == word,
                Tok::Name(n) => n == word,
                _ => false,
            });
            let Some(&(_, op)) = op else { break };
            self.bump();
            let right = self.binary(level + 1)?;
            let span = left.span.to(right.span);
            left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span };
            if level == 2 {
                // Comparisons do not chain: `a < b < c` is refused below.
                if LEVELS[2].iter().any(|(s, _)| self.is_sym(s)) {
                    return self.error("an operator other than a second comparison");
                }
                break;
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_sym("-") {
            let start = self.bump().1;
            let inner = self.unary()?;
            let span = start.to(inner.span);
            return Ok(Expr { kind: ExprKind::Neg(Box::new(inner)), span });
        }
        let base = self.atom()?;
        if self.is_sym("^") {
            self.bump();
            let exponent = self.unary()?;
            let span = base.span.to(exponent.span);
            return Ok(Expr {
                kind: ExprKind::Binary(BinOp::Pow, Box::new(base), Box::new(exponent)),
                span,
            });
        }
        Ok(base)
    }

    fn list(&mut self, close: &str) -> Result<(Vec<Expr>, Span), SyntaxError> {
        let mut items = Vec::new();
        if !self.is_sym(close) {
            loop {
                items.push(self.expr()?);
                if !self.is_sym(",") {
                    break;
                }
                self.bump();
            }
        }
        let end = self.expect_sym(close)?;
        Ok((items, end))
    }

    fn atom(&mut self) -> Result<Expr, SyntaxError> {
        let before = self.at;
        let (tok, span) = self.bump();
        match tok {
            Tok::Num(n) => Ok(Expr { kind: ExprKind::Number(n), span }),
            Tok::Str(s) => Ok(Expr { kind: ExprKind::Text(s), span }),
            Tok::Name(name) if is_keyword(&name) => {
                self.at = before;
                self.error("a value")
            }
            Tok::Name(name) => {
                if !self.is_sym("(") {
                    return Ok(Expr { kind: ExprKind::Name(name), span });
                }
                self.bump();
                let mut args = Vec::new();
                if !self.is_sym(")") {
                    loop {
                        let keyword = match (&self.tokens[self.at].0, &self.tokens.get(self.at + 1))
                        {
                            (Tok::Name(n), Some((Tok::Sym("="), _))) => Some(n.clone()),
                            _ => None,
                        };
                        if keyword.is_some() {
                            self.bump();
                            self.bump();
                        }
                        args.push(Arg { name: keyword, value: self.expr()? });
                        if !self.is_sym(",") {
                            break;
                        }
                        self.bump();
                    }
                }
                let end = self.expect_sym(")")?;
                Ok(Expr { kind: ExprKind::Call(name, args), span: span.to(end) })
            }
            Tok::Sym("(") => {
                let (mut items, end) = self.list(")")?;
                match items.len() {
                    0 => Err(SyntaxError { at: span.start, message: "empty parentheses".into() }),
                    1 => Ok(items.pop().expect("one")),
                    _ => Ok(Expr { kind: ExprKind::Tuple(items), span: span.to(end) }),
                }
            }
            Tok::Sym("[") => {
                let (items, end) = self.list("]")?;
                Ok(Expr { kind: ExprKind::List(items), span: span.to(end) })
            }
            Tok::Sym("{") => {
                let mut arms = Vec::new();
                while !self.is_sym("}") {
                    let key = match self.peek() {
                        Tok::Name(n) | Tok::Str(n) => n.clone(),
                        _ => return self.error("a key"),
                    };
                    self.bump();
                    self.expect_sym(":")?;
                    arms.push((key, self.expr()?));
                    if !self.is_sym(",") {
                        break;
                    }
                    self.bump();
                }
                let end = self.expect_sym("}")?;
                Ok(Expr { kind: ExprKind::Map(arms), span: span.to(end) })
            }
            _ => {
                self.at = before;
                self.error("a value")
            }
        }
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(name, "if" | "then" | "else" | "and" | "or" | "not")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(n) => n.to_string(),
            ExprKind::Text(s) => format!("{s:?}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Neg(x) => format!("(-{})", shape(x)),
            ExprKind::Not(x) => format!("(not {})", shape(x)),
            ExprKind::Binary(op, a, b) => format!("({} {} {})", shape(a), op.symbol(), shape(b)),
            ExprKind::If(c, a, b) => format!("(if {} {} {})", shape(c), shape(a), shape(b)),
            ExprKind::Call(f, args) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{n}={}", shape(&a.value)),
                        None => shape(&a.value),
                    })
                    .collect();
                format!("{f}({})", args.join(", "))
            }
            ExprKind::Tuple(xs) => {
                format!("({})", xs.iter().map(shape).collect::<Vec<_>>().join(", "))
            }
            ExprKind::List(xs) => {
                format!("[{}]", xs.iter().map(shape).collect::<Vec<_>>().join(", "))
            }
            ExprKind::Map(arms) => format!(
                "{{{}}}",
                arms.iter()
                    .map(|(k, v)| format!("{k}: {}", shape(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    #[test]
    fn precedence_and_forms() {
        let p = |s: &str| shape(&parse(s).unwrap());
        assert_eq!(p("a + 2 * b ^ 2"), "(a + (2 * (b ^ 2)))");
        assert_eq!(p("-x ^ 2"), "(-(x ^ 2))");
        assert_eq!(p("a >= 1 and not b or c"), "(((a >= 1) and (not b)) or c)");
        assert_eq!(p("if fmt >= 1 then acc else -1"), "(if (fmt >= 1) acc (-1))");
        assert_eq!(p("softmin(prm, T = 0.1)"), "softmin(prm, T=0.1)");
        assert_eq!(p("gated_sum([(a, 1), (b, 0.5), c])"), "gated_sum([(a, 1), (b, 0.5), c])");
        assert_eq!(
            p("route(task, {mcq: m, 'yes/no': y, default: 0})"),
            "route(task, {mcq: m, yes/no: y, default: 0})"
        );
        assert_eq!(p("toolcall.correctness + 1e-3"), "(toolcall.correctness + 0.001)");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = |s: &str| parse(s).unwrap_err();
        assert_eq!(e("a + ").at, 4);
        assert_eq!(e("1.2.3 + a").message, "`1.2.3` is not a number");
        assert_eq!(e("a < b < c").at, 6);
        assert_eq!(e("f(a,").message, "expected a value, found the end of the expression");
        assert_eq!(e("a $ b").message, "unexpected character '$'");
        assert!(e(&"(".repeat(100)).message.contains("nested"));
    }
}
