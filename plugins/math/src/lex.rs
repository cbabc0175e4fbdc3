//! Tokens of LaTeX and plain-text math.
//!
//! Tokens borrow from the text they were read from: an answer's tokens cost one vector, not a
//! string each (the lexer was a sixth of the plugin's instructions when every token owned its
//! text).

use std::borrow::Cow;

/// A token of the text `'a`.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    /// A number as written.
    Num {
        /// Digits before the decimal point (thousands separators removed, which is the one
        /// case that owns its text).
        int: Cow<'a, str>,
        /// Digits after the decimal point.
        frac: &'a str,
        /// Decimal exponent (`1.6e-21` → -21).
        exp: i64,
    },
    /// A letter or a known multi-letter name (`pi`, `sqrt`, `sin`, …), names in lower case.
    Ident(&'a str),
    /// A LaTeX command without its backslash.
    Cmd(&'a str),
    /// One punctuation or operator character, or a two-character operator (`**`, `<=`).
    Op(&'static str),
}

/// Plain-text names read as one identifier rather than a product of letters.
const NAMES: &[&str] = &[
    "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "log", "ln", "exp", "pi", "inf", "infty", "oo", "and", "or", "abs",
];

/// Splits `text` into tokens. Unknown characters are skipped, and so are prose words and units
/// (`is`, `cm`, `apples`): they carry no value.
pub fn lex(text: &str) -> Vec<Tok<'_>> {
    let bytes = text.as_bytes();
    let mut toks = Vec::with_capacity(text.len() / 2 + 1);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b.is_ascii_digit() || (b == b'.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let (tok, end) = number(text, i);
            toks.push(tok);
            i = end;
        } else if b == b'\\' {
            i = command(text, i + 1, &mut toks);
        } else if b.is_ascii_alphabetic() {
            let end = i + bytes[i..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            word(&text[i..end], &mut toks);
            i = end;
        } else if b.is_ascii() {
            let pair = match (b, next) {
                (b'*', Some(b'*')) => Some("**"),
                (b'<', Some(b'=')) => Some("<="),
                (b'>', Some(b'=')) => Some(">="),
                (b'!', Some(b'=')) => Some("!="),
                _ => None,
            };
            if let Some(op) = pair {
                toks.push(Tok::Op(op));
                i += 2;
                continue;
            }
            if b == b'%' {
                toks.push(Tok::Cmd("percent"));
            } else if let Some(op) = op(b) {
                toks.push(Tok::Op(op));
            }
            // Anything else (spaces, `$`, `.`, `?`) is skipped.
            i += 1;
        } else {
            let c = text[i..].chars().next().expect("i is on a character boundary");
            // Unicode spellings of operators, constants and functions.
            let tok = match c {
                '×' | '·' => Some(Tok::Op("*")),
                '÷' => Some(Tok::Op("/")),
                '≤' => Some(Tok::Op("<=")),
                '≥' => Some(Tok::Op(">=")),
                '≠' => Some(Tok::Op("!=")),
                '−' | '–' => Some(Tok::Op("-")),
                'π' => Some(Tok::Ident("pi")),
                '∞' => Some(Tok::Ident("inf")),
                '√' => Some(Tok::Ident("sqrt")),
                c if c.is_alphabetic() => Some(Tok::Ident(&text[i..i + c.len_utf8()])),
                _ => None,
            };
            toks.extend(tok);
            i += c.len_utf8();
        }
    }
    toks
}

/// One-character operators and punctuation.
fn op(b: u8) -> Option<&'static str> {
    Some(match b {
        b'+' => "+",
        b'-' => "-",
        b'*' => "*",
        b'/' => "/",
        b'^' => "^",
        b'(' => "(",
        b')' => ")",
        b'[' => "[",
        b']' => "]",
        b'{' => "{",
        b'}' => "}",
        b',' => ",",
        b'=' => "=",
        b'<' => "<",
        b'>' => ">",
        b'!' => "!",
        b'|' => "|",
        b'&' => "&",
        b'_' => "_",
        b';' => ";",
        b'\'' => "'",
        b':' => ":",
        _ => return None,
    })
}

/// The command whose name starts at `start` (just after its backslash); returns where the
/// text goes on. A backslash before a non-letter is one character: `\{`, `\\`, `\%`, `\,`.
fn command<'a>(text: &'a str, start: usize, toks: &mut Vec<Tok<'a>>) -> usize {
    let name = text[start..].bytes().take_while(u8::is_ascii_alphabetic).count();
    if name > 0 {
        toks.push(Tok::Cmd(&text[start..start + name]));
        return start + name;
    }
    let Some(c) = text[start..].chars().next() else { return start };
    match c {
        '{' => toks.push(Tok::Op("{")),
        '}' => toks.push(Tok::Op("}")),
        '\\' => toks.push(Tok::Cmd("newline")),
        '%' => toks.push(Tok::Cmd("percent")),
        _ => {}
    }
    start + c.len_utf8()
}

/// A run of ASCII letters: a known name (any case), a prose word or unit (skipped), or a
/// product of one-letter variables (`xy`).
fn word<'a>(word: &'a str, toks: &mut Vec<Tok<'a>>) {
    // No name is one letter long, so a lone letter (the commonest word) is not looked up.
    let known = (word.len() > 1).then(|| NAMES.iter().find(|n| n.eq_ignore_ascii_case(word)));
    if let Some(name) = known.flatten() {
        toks.push(Tok::Ident(name));
    } else if word.len() > 1 && word.bytes().all(|c| c.is_ascii_lowercase()) && is_word(word) {
        // A word or a unit: no value of its own; `5 cm` reads as 5.
    } else {
        toks.extend((0..word.len()).map(|k| Tok::Ident(&word[k..k + 1])));
    }
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
/// Returns it and where the text goes on.
fn number(text: &str, start: usize) -> (Tok<'_>, usize) {
    let bytes = text.as_bytes();
    let digit = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_digit);
    let digits_from = |k: usize| {
        k + bytes[k.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count()
    };
    let mut i = digits_from(start);
    let mut int = Cow::Borrowed(&text[start..i]);
    // Thousands separators: `,`, ` ` or `{,}` followed by exactly three digits, repeatedly.
    while !int.is_empty() {
        let skip = match bytes.get(i) {
            Some(b',' | b' ') => 1,
            Some(b'{') if bytes.get(i + 1..i + 3) == Some(b",}") => 3,
            _ => break,
        };
        let group = i + skip;
        if !(digit(group) && digit(group + 1) && digit(group + 2)) || digit(group + 3) {
            break;
        }
        int.to_mut().push_str(&text[group..group + 3]);
        i = group + 3;
    }
    let mut frac = "";
    if bytes.get(i) == Some(&b'.') && digit(i + 1) {
        let end = digits_from(i + 1);
        frac = &text[i + 1..end];
        i = end;
    }
    let mut exp = 0i64;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let negative = bytes.get(i + 1) == Some(&b'-');
        let j = i + 1 + usize::from(matches!(bytes.get(i + 1), Some(b'-' | b'+')));
        if digit(j) {
            // At most six digits: a larger exponent is no number anyone writes.
            let end = j + bytes[j..].iter().take(6).take_while(|b| b.is_ascii_digit()).count();
            let magnitude: i64 = text[j..end].parse().expect("one to six digits");
            exp = if negative { -magnitude } else { magnitude };
            i = end;
        }
    }
    (Tok::Num { int, frac, exp }, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num<'a>(int: &'a str, frac: &'a str, exp: i64) -> Tok<'a> {
        Tok::Num { int: int.into(), frac, exp }
    }

    #[test]
    fn numbers() {
        assert_eq!(lex("7,425,000"), [num("7425000", "", 0)]);
        assert_eq!(lex("1{,}000"), [num("1000", "", 0)]);
        assert_eq!(lex(".4"), [num("", "4", 0)]);
        assert_eq!(lex("1.6e-21"), [num("1", "6", -21)]);
        assert_eq!(lex("2e1234567"), [num("2", "", 123456), num("7", "", 0)]);
        assert_eq!(lex("1,2"), [num("1", "", 0), Tok::Op(","), num("2", "", 0)]);
        assert_eq!(lex("1 000"), [num("1000", "", 0)]);
        assert_eq!(lex("1,0000"), [num("1", "", 0), Tok::Op(","), num("0000", "", 0)]);
        assert_eq!(lex("2 1/4"), [num("2", "", 0), num("1", "", 0), Tok::Op("/"), num("4", "", 0)]);
    }

    #[test]
    fn commands_and_names() {
        assert_eq!(lex("\\frac12"), [Tok::Cmd("frac"), num("12", "", 0)]);
        assert_eq!(
            lex("sqrt(2)"),
            [Tok::Ident("sqrt"), Tok::Op("("), num("2", "", 0), Tok::Op(")")]
        );
        assert_eq!(lex("SQRT"), [Tok::Ident("sqrt")]);
        assert_eq!(lex("x**2"), [Tok::Ident("x"), Tok::Op("**"), num("2", "", 0)]);
        assert_eq!(
            lex("\\{1\\}\\\\"),
            [Tok::Op("{"), num("1", "", 0), Tok::Op("}"), Tok::Cmd("newline")]
        );
        assert_eq!(
            lex("3 × π ≤ θ"),
            [num("3", "", 0), Tok::Op("*"), Tok::Ident("pi"), Tok::Op("<="), Tok::Ident("θ")]
        );
    }

    #[test]
    fn words_and_units_are_skipped() {
        assert_eq!(lex("5 cm"), [num("5", "", 0)]);
        assert_eq!(lex("x is 5 apples"), [Tok::Ident("x"), num("5", "", 0)]);
        assert_eq!(lex("xy"), [Tok::Ident("x"), Tok::Ident("y")]);
        assert_eq!(lex("Ab"), [Tok::Ident("A"), Tok::Ident("b")]);
    }
}
