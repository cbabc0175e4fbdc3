//! Finding the calls in a completion, in every common dialect:
//! Hermes/Qwen `<tool_call>` blocks, OpenAI `tool_calls` JSON, a bare JSON list or object of
//! calls, and BFCL's Python call syntax `[f(a=1, b='x'), g()]`.

use gavel_plugin::serde_json::map::Entry;
use gavel_plugin::serde_json::{Map, Number, Value};

use crate::call::Call;
use crate::{json, text};

/// Deepest nesting of literals accepted in Python call syntax.
const MAX_DEPTH: usize = 64;

/// The calls in a completion, or why they cannot be read. A completion with no call at all
/// gives `Ok(vec![])`.
pub fn calls(completion: &str) -> Result<Vec<Call>, String> {
    // Reasoning is not a call.
    let after_thinking = text::rfind(completion, "</think>").map(|at| at + "</think>".len());
    let text = completion[after_thinking.unwrap_or(0)..].trim();
    if text::contains(text, "<tool_call>") {
        return hermes(text);
    }
    let text = strip_fence(text);
    // JSON first; Python call syntax (`[f(a=1)]`) is not JSON, so it falls through.
    let looks_like_json = text.starts_with('{') || text.starts_with('[');
    if looks_like_json && let Ok(calls) = json::calls(text) {
        return calls;
    }
    if text.is_empty() {
        return Ok(Vec::new());
    }
    python_calls(text)
}

/// Every `<tool_call>…</tool_call>` block: one JSON object, or one per line.
fn hermes(text: &str) -> Result<Vec<Call>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = text::find(rest, "<tool_call>") {
        let body = &rest[start + "<tool_call>".len()..];
        let Some(end) = text::find(body, "</tool_call>") else {
            return Err("a <tool_call> block is not closed".into());
        };
        let block = strip_fence(body[..end].trim());
        match json::calls(block) {
            Ok(calls) => out.extend(calls?),
            Err(whole) => {
                for line in block.lines().filter(|l| !l.trim().is_empty()) {
                    let calls = json::calls(line.trim()).map_err(|e| {
                        format!("a <tool_call> block is not JSON ({whole}); line {line:?}: {e}")
                    })?;
                    out.extend(calls?);
                }
            }
        }
        rest = &body[end + "</tool_call>".len()..];
    }
    Ok(out)
}

fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(inner) = t.strip_prefix("```") else { return t };
    let inner = inner.split_once('\n').map_or(inner, |(_, body)| body);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

/// BFCL's Python syntax: `[f(a=1), g(b='x')]` or `f(a=1)`.
pub fn python_calls(text: &str) -> Result<Vec<Call>, String> {
    let mut p = Py { text, pos: 0, depth: 0 };
    p.ws();
    let bracketed = p.eat(b'[');
    let mut out = Vec::new();
    loop {
        p.ws();
        if bracketed && p.eat(b']') {
            break;
        }
        out.push(p.call()?);
        p.ws();
        if p.eat(b',') {
            continue;
        }
        if bracketed {
            p.ws();
            if !p.eat(b']') {
                return Err(p.error("expected `,` or `]` after a call"));
            }
        }
        break;
    }
    p.ws();
    if p.pos != p.text.len() {
        return Err(p.error("unexpected text after the calls"));
    }
    Ok(out)
}

struct Py<'a> {
    /// The text; read as bytes, and sliced as text at ASCII boundaries (no UTF-8 check needed).
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Py<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> String {
        let near: String =
            String::from_utf8_lossy(&self.bytes()[self.pos..(self.pos + 20).min(self.text.len())])
                .into();
        format!("not a call list: {what} at byte {} (near {near:?})", self.pos)
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            self.pos += 1;
        }
        (self.pos > start && !self.bytes()[start].is_ascii_digit())
            .then(|| self.text[start..self.pos].to_owned())
    }

    fn call(&mut self) -> Result<Call, String> {
        let name = self.ident().ok_or_else(|| self.error("expected a function name"))?;
        self.ws();
        if !self.eat(b'(') {
            return Err(self.error("expected `(`"));
        }
        let mut args = Map::new();
        loop {
            self.ws();
            if self.eat(b')') {
                break;
            }
            let key = self
                .ident()
                .ok_or_else(|| self.error("a positional argument; calls must use keywords"))?;
            self.ws();
            if !self.eat(b'=') {
                return Err(
                    self.error(&format!("argument {key:?} is positional; calls must use keywords"))
                );
            }
            self.ws();
            let value = self.literal()?;
            match args.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => {
                    return Err(self.error(&format!("argument {:?} is given twice", slot.key())));
                }
            }
            self.ws();
            if self.eat(b',') {
                continue;
            }
            self.ws();
            if !self.eat(b')') {
                return Err(self.error("expected `,` or `)`"));
            }
            break;
        }
        Ok(Call { name, args })
    }

    fn literal(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH}")));
        }
        let value = self.literal_inner();
        self.depth -= 1;
        value
    }

    fn literal_inner(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Value::String),
            Some(b'[') | Some(b'(') => {
                let close = if self.peek() == Some(b'[') { b']' } else { b')' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.eat(close) {
                        break;
                    }
                    items.push(self.literal()?);
                    self.ws();
                    if !self.eat(b',') {
                        self.ws();
                        if !self.eat(close) {
                            return Err(self.error("unclosed list"));
                        }
                        break;
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut map = Map::new();
                loop {
                    self.ws();
                    if self.eat(b'}') {
                        break;
                    }
                    let key = match self.literal()? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.ws();
                    if !self.eat(b':') {
                        return Err(self.error("expected `:` in a dict"));
                    }
                    self.ws();
                    let value = self.literal()?;
                    map.insert(key, value);
                    self.ws();
                    if !self.eat(b',') {
                        self.ws();
                        if !self.eat(b'}') {
                            return Err(self.error("unclosed dict"));
                        }
                        break;
                    }
                }
                Ok(Value::Object(map))
            }
            Some(c) if c == b'-' || c == b'+' || c == b'.' || c.is_ascii_digit() => self.number(),
            Some(_) => match self.ident().as_deref() {
                Some("True" | "true") => Ok(Value::Bool(true)),
                Some("False" | "false") => Ok(Value::Bool(false)),
                Some("None" | "null") => Ok(Value::Null),
                // A bare name (a variable) is kept as its text, as BFCL does.
                Some(name) => Ok(Value::String(name.to_owned())),
                None => Err(self.error("expected a value")),
            },
            None => Err(self.error("the text ends inside a call")),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        let mut float = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'_' => {}
                b'.' | b'e' | b'E' => float = true,
                b'-' | b'+' if matches!(self.bytes()[self.pos - 1], b'e' | b'E') => {}
                _ => break,
            }
            self.pos += 1;
        }
        // ASCII digits, signs and `._eE`: the slice is at character boundaries.
        let text = self.text[start..self.pos].replace('_', "");
        let number = if float {
            text.parse::<f64>().ok().and_then(Number::from_f64)
        } else {
            text.parse::<i64>().ok().map(Number::from)
        };
        number.map(Value::Number).ok_or_else(|| self.error(&format!("bad number {text:?}")))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.bytes()[self.pos];
        self.pos += 1;
        let mut bytes = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                _ if c == quote => {
                    return String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"));
                }
                b'\\' => {
                    let escaped = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    bytes.push(match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                _ => bytes.push(c),
            }
        }
        Err(self.error("unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn one(text: &str) -> (String, Value) {
        let calls = calls(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(calls.len(), 1, "{calls:?}");
        (calls[0].name.clone(), Value::Object(calls[0].args.clone()))
    }

    #[test]
    fn dialects() {
        let expected = ("get_weather".to_owned(), json!({"city": "Berlin", "days": 3}));
        assert_eq!(
            one(
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Berlin\", \"days\": 3}}\n</tool_call>"
            ),
            expected
        );
        assert_eq!(
            one(
                r#"{"tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Berlin\", \"days\": 3}"}}]}"#
            ),
            expected
        );
        assert_eq!(
            one(r#"[{"name": "get_weather", "parameters": {"city": "Berlin", "days": 3}}]"#),
            expected
        );
        assert_eq!(one("[get_weather(city='Berlin', days=3)]"), expected);
        assert_eq!(
            one(
                "```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Berlin\", \"days\": 3}}\n```"
            ),
            expected
        );
    }

    #[test]
    fn python_literals() {
        let (name, args) = one(
            "[math.hypot(xs=[1, 2.5, -3e2], opts={'a': (1, 2), \"b\": None}, flag=True, who=user)]",
        );
        assert_eq!(name, "math.hypot");
        assert_eq!(
            args,
            json!({"xs": [1, 2.5, -300.0], "opts": {"a": [1, 2], "b": null}, "flag": true, "who": "user"})
        );
        assert_eq!(calls("[f(), g(x=1)]").unwrap().len(), 2);
        assert!(calls("[f(1)]").unwrap_err().contains("positional"));
        assert!(calls("[f(x=1, x=2)]").unwrap_err().contains("twice"));
        let deep = format!("[f(x={}1{})]", "[".repeat(100), "]".repeat(100));
        assert!(calls(&deep).unwrap_err().contains("nesting"));
    }

    #[test]
    fn hermes_lines_and_failures() {
        let text = "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>";
        assert_eq!(calls(text).unwrap().len(), 2);
        assert!(calls("<tool_call>{not json</tool_call>").is_err());
        assert!(calls("<tool_call>{\"name\": \"a\"}").unwrap_err().contains("not closed"));
        assert_eq!(calls("").unwrap(), Vec::new());
    }
}
