//! Tokens of LaTeX and plain-text math.

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A number as written.
    Num {
        /// Digits before the decimal point (thousands separators removed).
        int: String,
        /// Digits after the decimal point.
        frac: String,
        /// Decimal exponent (`1.6e-21` → -21).
        exp: i64,
    },
    /// A letter or a known multi-letter name (`pi`, `sqrt`, `sin`, …).
    Ident(String),
    /// A LaTeX command without its backslash.
    Cmd(String),
    /// One punctuation or operator character, or a two-character operator (`**`, `<=`).
    Op(&'static str),
}

const OPS: &[&str] = &[
    "**", "<=", ">=", "!=", "+", "-", "*", "/", "^", "(", ")", "[", "]", "{", "}", ",", "=", "<",
    ">", "!", "|", "&", "_", ";", "'", ":",
];

/// Plain-text names read as one identifier rather than a product of letters.
const NAMES: &[&str] = &[
    "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "log", "ln", "exp", "pi", "inf", "infty", "oo", "and", "or", "abs",
];

/// Splits `text` into tokens. Unknown characters are skipped; `None` if the text is too long.
pub fn lex(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '$' {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (tok, next) = number(&chars, i);
            toks.push(tok);
            i = next;
        } else if c == '\\' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j == start {
                // `\\`, `\{`, `\,`, `\%` …: one character.
                let sym = chars.get(start).copied().unwrap_or(' ');
                match sym {
                    '{' => toks.push(Tok::Op("{")),
                    '}' => toks.push(Tok::Op("}")),
                    '\\' => toks.push(Tok::Cmd("newline".into())),
                    '%' => toks.push(Tok::Cmd("percent".into())),
                    '$' => {}
                    _ => {}
                }
                i = start + 1;
            } else {
                toks.push(Tok::Cmd(chars[start..j].iter().collect()));
                i = j;
            }
        } else if c.is_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j == i {
                toks.push(Tok::Ident(c.to_string()));
                i += 1;
                continue;
            }
            let word: String = chars[i..j].iter().collect();
            let lower = word.to_lowercase();
            if NAMES.contains(&lower.as_str()) {
                toks.push(Tok::Ident(lower));
            } else if word.len() > 1
                && word.chars().all(|c| c.is_ascii_lowercase())
                && is_word(&lower)
            {
                toks.push(Tok::Ident(format!("word:{lower}")));
            } else {
                toks.extend(word.chars().map(|c| Tok::Ident(c.to_string())));
            }
            i = j;
        } else {
            let rest = &chars[i..(i + 2).min(chars.len())];
            // Unicode spellings of operators, constants and functions.
            let symbol = match c {
                '×' | '·' => Some(Tok::Op("*")),
                '÷' => Some(Tok::Op("/")),
                '≤' => Some(Tok::Op("<=")),
                '≥' => Some(Tok::Op(">=")),
                '≠' => Some(Tok::Op("!=")),
                '−' | '–' => Some(Tok::Op("-")),
                '%' => Some(Tok::Cmd("percent".into())),
                'π' => Some(Tok::Ident("pi".into())),
                '∞' => Some(Tok::Ident("inf".into())),
                '√' => Some(Tok::Ident("sqrt".into())),
                _ => None,
            };
            if let Some(tok) = symbol {
                toks.push(tok);
                i += 1;
            } else if let Some(op) =
                OPS.iter().find(|op| op.len() == 2 && op.chars().eq(rest.iter().copied()))
            {
                toks.push(Tok::Op(op));
                i += 2;
            } else if let Some(op) = OPS.iter().find(|op| op.len() == 1 && op.starts_with(c)) {
                toks.push(Tok::Op(op));
                i += 1;
            } else {
                i += 1;
            }
        }
    }
    toks
}

/// Words longer than one letter that are prose or units, not products of variables.
fn is_word(word: &str) -> bool {
    word.len() >= 3
        || matches!(
            word,
            "cm" | "mm"
                | "km"
                | "kg"
                | "mg"
                | "ml"
                | "ft"
                | "in"
                | "is"
                | "of"
                | "to"
                | "mi"
                | "hr"
                | "am"
                | "pm"
        )
}

/// Reads a number at `start`: digits with `,`-grouped thousands, a fraction, an exponent.
fn number(chars: &[char], start: usize) -> (Tok, usize) {
    let mut i = start;
    let mut int = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() {
        int.push(chars[i]);
        i += 1;
    }
    // Thousands separators: `,` (or `{,}`) followed by exactly three digits, repeatedly.
    loop {
        let (skip, ok) = if chars.get(i) == Some(&',') || chars.get(i) == Some(&' ') {
            (1, true)
        } else if chars.get(i..i + 3) == Some(&['{', ',', '}']) {
            (3, true)
        } else {
            (0, false)
        };
        let digits =
            |from: usize| (from..from + 3).all(|k| chars.get(k).is_some_and(char::is_ascii_digit));
        if ok
            && !int.is_empty()
            && digits(i + skip)
            && !chars.get(i + skip + 3).is_some_and(char::is_ascii_digit)
        {
            int.extend(&chars[i + skip..i + skip + 3]);
            i += skip + 3;
        } else {
            break;
        }
    }
    let mut frac = String::new();
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            frac.push(chars[i]);
            i += 1;
        }
    }
    let mut exp = 0i64;
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let negative = chars.get(j) == Some(&'-');
        if matches!(chars.get(j), Some('-' | '+')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit)
            && !chars.get(i + 1).is_some_and(|c| c.is_alphabetic())
        {
            let mut digits = String::new();
            while j < chars.len() && chars[j].is_ascii_digit() && digits.len() < 6 {
                digits.push(chars[j]);
                j += 1;
            }
            exp = digits.parse::<i64>().unwrap_or(0) * if negative { -1 } else { 1 };
            i = j;
        }
    }
    (Tok::Num { int, frac, exp }, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(int: &str, frac: &str, exp: i64) -> Tok {
        Tok::Num { int: int.into(), frac: frac.into(), exp }
    }

    #[test]
    fn numbers() {
        assert_eq!(lex("7,425,000"), [num("7425000", "", 0)]);
        assert_eq!(lex("1{,}000"), [num("1000", "", 0)]);
        assert_eq!(lex(".4"), [num("", "4", 0)]);
        assert_eq!(lex("1.6e-21"), [num("1", "6", -21)]);
        assert_eq!(lex("1,2"), [num("1", "", 0), Tok::Op(","), num("2", "", 0)]);
        assert_eq!(lex("1 000"), [num("1000", "", 0)]);
        assert_eq!(lex("2 1/4"), [num("2", "", 0), num("1", "", 0), Tok::Op("/"), num("4", "", 0)]);
    }

    #[test]
    fn commands_and_names() {
        assert_eq!(lex("\\frac12"), [Tok::Cmd("frac".into()), num("12", "", 0)]);
        assert_eq!(
            lex("sqrt(2)"),
            [Tok::Ident("sqrt".into()), Tok::Op("("), num("2", "", 0), Tok::Op(")")]
        );
        assert_eq!(lex("x**2"), [Tok::Ident("x".into()), Tok::Op("**"), num("2", "", 0)]);
    }
}
