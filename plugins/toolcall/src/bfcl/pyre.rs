//! The subset of Python's `re` that BFCL's Java and JavaScript type converters use, with
//! Python's semantics: backtracking, leftmost match, greedy and lazy quantifiers, `.` without
//! newlines unless `DOTALL`, `$` at the end or before a final newline, Unicode `\w` and `\s`
//! (`\d` is ASCII: see `is_digit`),
//! capture groups, `(?:…)`, `(?=…)`, `\b`, `[…]` and `[^…]` classes.
//!
//! BFCL's verdicts depend on exactly what its regular expressions capture (lazy `.*?` stopping
//! at the first `}`, say), so the converters run BFCL's own patterns, written as BFCL writes
//! them, rather than hand-made parsers that would agree most of the time. The patterns are
//! tiny and parsed in microseconds, so nothing is compiled or cached ahead of a call.
//!
//! Repeats of one character (`\s*`, `.*?`, `[^,]+`) are matched with a loop, not recursion,
//! so the stack depth does not grow with the length of the text. Such a loop tries only the
//! lengths after which the rest of the pattern can start: `(.*?)\}` tries the positions of `}`
//! instead of running the rest of the pattern at every character (see [`Need`]). That skips
//! only attempts that would fail at their first step, so what matches is unchanged.

use std::cell::RefCell;
use std::rc::Rc;

/// Most iterations of a repeated group (`(,\s*\[.*?\])*`) one match may take; each is a
/// level of recursion, so a hostile text with more gives up instead of exhausting the stack.
/// An iteration takes a few kilobytes of the host's 512 KiB wasm stack (more once binaryen has
/// inlined into the matcher); 64 keeps a margin of half again (100 still fits, 192 does not).
pub const MAX_GROUP_REPEATS: usize = 64;

/// A parsed pattern.
#[derive(Debug)]
pub struct Re {
    root: Node,
    groups: usize,
    dotall: bool,
    gave_up: std::cell::Cell<bool>,
    /// What every match needs at its start, when the pattern says: a search skips other
    /// positions without trying them.
    first: Needs,
}

/// What must hold where the rest of a pattern starts for it to have any chance to match: one
/// of these, or (`None`) nothing known.
type Needs = Option<Box<[Need]>>;

/// One way the rest of a pattern can start.
#[derive(Debug, Clone)]
enum Need {
    /// A character that this one-character node matches.
    One(Node),
    /// Where `$` matches.
    End,
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Start,
    End,
    WordBoundary,
    Group(Box<Node>, Option<usize>),
    /// A lookahead, and whether it holds capture groups.
    Ahead(Box<Node>, bool),
    Alt(Vec<Node>),
    Seq(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: usize,
        greedy: bool,
        /// What the rest of the pattern needs where the repeat ends, when known (used for
        /// repeats of one character).
        then: Needs,
    },
}

#[derive(Debug, Clone)]
enum ClassItem {
    Char(char),
    Range(char, char),
    Digit,
    Word,
    Space,
}

type Caps = Vec<Option<(usize, usize)>>;

/// One match: the text it ran over and where its groups are, in chars.
pub struct Match<'t> {
    text: &'t [char],
    caps: Caps,
}

impl Match<'_> {
    /// Group `i` (0: the whole match), when it took part in the match.
    pub fn group(&self, i: usize) -> Option<String> {
        self.caps.get(i).copied().flatten().map(|(a, b)| self.text[a..b].iter().collect())
    }

    /// Where the match starts.
    pub fn start(&self) -> usize {
        self.caps[0].map_or(0, |(start, _)| start)
    }

    /// Where the match ends.
    pub fn end(&self) -> usize {
        self.caps[0].map_or(0, |(_, end)| end)
    }
}

impl Re {
    /// Parses `pattern`; panics on syntax outside the subset (the patterns are constants).
    pub fn new(pattern: &str) -> Self {
        Self::build(pattern, false)
    }

    /// Parses `pattern` with `re.DOTALL`.
    pub fn dotall(pattern: &str) -> Self {
        Self::build(pattern, true)
    }

    /// The parsed `pattern`, parsed once per instance: converters run once per argument, and a
    /// Java map of many entries reads each value with several patterns.
    pub fn cached(pattern: &'static str, dotall: bool) -> Rc<Re> {
        thread_local! {
            static PARSED: RefCell<Vec<(&'static str, bool, Rc<Re>)>> = const { RefCell::new(Vec::new()) };
        }
        PARSED.with_borrow_mut(|parsed| {
            if let Some((_, _, re)) =
                parsed.iter().find(|(p, d, _)| std::ptr::eq(*p, pattern) && *d == dotall)
            {
                return re.clone();
            }
            let re = Rc::new(Self::build(pattern, dotall));
            parsed.push((pattern, dotall, re.clone()));
            re
        })
    }

    fn build(pattern: &str, dotall: bool) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parser = Parser { chars: &chars, at: 0, groups: 0 };
        let mut root = parser.alt();
        assert!(parser.at == chars.len(), "unsupported pattern {pattern:?} at {}", parser.at);
        follow(&mut root, None);
        let first = needs(std::slice::from_ref(&root));
        Self {
            root,
            groups: parser.groups + 1,
            dotall,
            gave_up: std::cell::Cell::new(false),
            first,
        }
    }

    /// `re.match`: a match starting at `from`.
    pub fn match_at<'t>(&self, text: &'t [char], from: usize) -> Option<Match<'t>> {
        self.gave_up.set(false);
        self.attempt(text, from)
    }

    fn attempt<'t>(&self, text: &'t [char], from: usize) -> Option<Match<'t>> {
        let mut caps: Caps = vec![None; self.groups];
        self.end_of_match(text, from, &mut caps).map(|end| {
            caps[0] = Some((from, end));
            Match { text, caps }
        })
    }

    /// Where a match starting at `from` ends, its groups in `caps`.
    fn end_of_match(&self, text: &[char], from: usize, caps: &mut Caps) -> Option<usize> {
        let mut end = None;
        self.run(&self.root, text, from, caps, &mut |j, _| {
            end = Some(j);
            true
        })
        .then(|| end.unwrap_or(from))
    }

    /// Whether a search gave up at [`MAX_GROUP_REPEATS`] (its "no match" is then no answer).
    pub fn gave_up(&self) -> bool {
        self.gave_up.get()
    }

    /// `re.search`: the leftmost match at or after `from`.
    pub fn search_from<'t>(&self, text: &'t [char], from: usize) -> Option<Match<'t>> {
        self.gave_up.set(false);
        let mut caps: Caps = vec![None; self.groups];
        for i in from..=text.len() {
            if !self.can_start(self.first.as_deref(), text, i) {
                continue;
            }
            caps.fill(None);
            if let Some(end) = self.end_of_match(text, i, &mut caps) {
                caps[0] = Some((i, end));
                return Some(Match { text, caps });
            }
        }
        None
    }

    /// `re.search` over the whole text.
    pub fn search<'t>(&self, text: &'t [char]) -> Option<Match<'t>> {
        self.search_from(text, 0)
    }

    /// `re.findall`'s matches: non-overlapping, left to right, an empty match moving on by one.
    pub fn find_all<'t>(&self, text: &'t [char]) -> Vec<Match<'t>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at <= text.len() {
            let Some(m) = self.search_from(text, at) else { break };
            let (start, end) = m.caps[0].expect("group 0 is set");
            at = if end == start { end + 1 } else { end };
            out.push(m);
        }
        out
    }

    /// Whether `c` matches a one-character node.
    fn one(&self, node: &Node, c: char) -> bool {
        match node {
            Node::Char(x) => *x == c,
            Node::Any => self.dotall || c != '\n',
            Node::Class { negated, items } => items.iter().any(|item| item.has(c)) != *negated,
            _ => unreachable!("not a one-character node"),
        }
    }

    /// Whether what `needs` asks for holds at `i` (anything does when nothing is known).
    fn can_start(&self, needs: Option<&[Need]>, s: &[char], i: usize) -> bool {
        needs.is_none_or(|needs| {
            needs.iter().any(|need| match need {
                Need::One(node) => i < s.len() && self.one(node, s[i]),
                Need::End => is_end(s, i),
            })
        })
    }

    /// Matches `node` at `i` and calls `k` with each place it can end, until `k` accepts one.
    fn run(
        &self,
        node: &Node,
        s: &[char],
        i: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(usize, &mut Caps) -> bool,
    ) -> bool {
        if self.gave_up.get() {
            return false;
        }
        match node {
            Node::Char(_) | Node::Any | Node::Class { .. } => {
                i < s.len() && self.one(node, s[i]) && k(i + 1, caps)
            }
            Node::Start => i == 0 && k(i, caps),
            // Python's `$` without MULTILINE: the end, or just before a final newline.
            Node::End => is_end(s, i) && k(i, caps),
            Node::WordBoundary => is_boundary(s, i) && k(i, caps),
            Node::Group(inner, index) => self.run(inner, s, i, caps, &mut |j, caps| {
                let Some(g) = *index else { return k(j, caps) };
                let old = caps[g];
                caps[g] = Some((i, j));
                if k(j, caps) {
                    return true;
                }
                caps[g] = old;
                false
            }),
            // What the lookahead captures is dropped; only one that captures needs a copy.
            Node::Ahead(inner, true) => {
                let mut probe = caps.clone();
                self.run(inner, s, i, &mut probe, &mut |_, _| true) && k(i, caps)
            }
            Node::Ahead(inner, false) => {
                self.run(inner, s, i, caps, &mut |_, _| true) && k(i, caps)
            }
            // A run that fails leaves the groups as it found them (each group puts its old
            // value back when what follows it fails), so the next alternative starts clean.
            Node::Alt(alternatives) => {
                for alternative in alternatives {
                    #[cfg(debug_assertions)]
                    let before = caps.clone();
                    if self.run(alternative, s, i, caps, k) {
                        return true;
                    }
                    #[cfg(debug_assertions)]
                    debug_assert_eq!(*caps, before, "a failed alternative changed the groups");
                }
                false
            }
            Node::Seq(nodes) => self.seq(nodes, s, i, caps, k),
            Node::Repeat { node, min, max, greedy, then } => {
                if matches!(**node, Node::Char(_) | Node::Any | Node::Class { .. }) {
                    let fits = |j: usize| j < s.len() && self.one(node, s[j]);
                    // Stop trying lengths at once when a deeper repeat gave up.
                    let mut attempt = |n: usize| {
                        self.can_start(then.as_deref(), s, i + n)
                            && (k(i + n, caps) || self.gave_up.get())
                    };
                    let hit = if *greedy {
                        let run = (0..*max).take_while(|&n| fits(i + n)).count();
                        run >= *min && (*min..=run).rev().any(&mut attempt)
                    } else {
                        // Lazy: grow one character at a time, never scanning ahead.
                        let mut n = 0;
                        loop {
                            if n >= *min && attempt(n) {
                                break true;
                            }
                            if n == *max || !fits(i + n) {
                                break false;
                            }
                            n += 1;
                        }
                    };
                    hit && !self.gave_up.get()
                } else {
                    self.repeat(node, *min, *max, *greedy, 0, s, i, caps, k)
                }
            }
        }
    }

    /// Matches `nodes` in order. Nodes that match in one way only (a character, `^`, `$`,
    /// `\b`) are stepped over in a loop: a recursion per node would cost stack on every
    /// iteration of a repeated group, whose depth is what [`MAX_GROUP_REPEATS`] bounds.
    fn seq(
        &self,
        mut nodes: &[Node],
        s: &[char],
        mut i: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(usize, &mut Caps) -> bool,
    ) -> bool {
        while let Some((first, rest)) = nodes.split_first() {
            // As `run` does on entry.
            if self.gave_up.get() {
                return false;
            }
            let holds = match first {
                Node::Char(_) | Node::Any | Node::Class { .. } => {
                    let hit = i < s.len() && self.one(first, s[i]);
                    i += 1;
                    hit
                }
                Node::Start => i == 0,
                Node::End => is_end(s, i),
                Node::WordBoundary => is_boundary(s, i),
                _ => {
                    return self
                        .run(first, s, i, caps, &mut |j, caps| self.seq(rest, s, j, caps, k));
                }
            };
            if !holds {
                return false;
            }
            nodes = rest;
        }
        k(i, caps)
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &self,
        node: &Node,
        min: usize,
        max: usize,
        greedy: bool,
        count: usize,
        s: &[char],
        i: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(usize, &mut Caps) -> bool,
    ) -> bool {
        let more = |caps: &mut Caps, k: &mut dyn FnMut(usize, &mut Caps) -> bool| {
            count < max
                && self.run(node, s, i, caps, &mut |j, caps| {
                    // An iteration that matched nothing ends the repeat (as Python's does).
                    (j != i || count < min)
                        && self.repeat(node, min, max, greedy, count + 1, s, j, caps, k)
                })
        };
        if count >= MAX_GROUP_REPEATS {
            self.gave_up.set(true);
            return false;
        }
        // Greedy: one more iteration first, then stopping here; lazy: the other way round.
        if !greedy && count >= min && k(i, caps) {
            return true;
        }
        if more(caps, k) {
            return true;
        }
        greedy && count >= min && k(i, caps)
    }
}

/// Python's `$` without MULTILINE: the end, or just before a final newline.
fn is_end(s: &[char], i: usize) -> bool {
    i == s.len() || (i + 1 == s.len() && s[i] == '\n')
}

/// What `nodes`, matched in order, need where they start, when a node that cannot match
/// nothing decides it; `None` when that is not known (a lookahead, `\b`, a repeated group,
/// or nodes that may all match nothing, leaving it to what follows).
fn needs(nodes: &[Node]) -> Needs {
    let mut out = Vec::new();
    for node in nodes {
        match node {
            Node::Char(_) | Node::Any | Node::Class { .. } => {
                out.push(Need::One(node.clone()));
                return Some(out.into());
            }
            Node::Repeat { node: one, min, .. }
                if matches!(**one, Node::Char(_) | Node::Any | Node::Class { .. }) =>
            {
                out.push(Need::One((**one).clone()));
                if *min > 0 {
                    return Some(out.into());
                }
            }
            Node::End => {
                out.push(Need::End);
                return Some(out.into());
            }
            Node::Group(..) | Node::Alt(..) | Node::Seq(..) => {
                let inner = if let Node::Group(inner, _) = node { inner } else { node };
                let alternatives = match inner {
                    Node::Alt(alternatives) => alternatives.as_slice(),
                    other => std::slice::from_ref(other),
                };
                for alternative in alternatives {
                    let decided = match alternative {
                        Node::Seq(nodes) => needs(nodes),
                        other => needs(std::slice::from_ref(other)),
                    };
                    out.extend(decided?.iter().cloned());
                }
                return Some(out.into());
            }
            Node::Start | Node::WordBoundary | Node::Ahead(..) | Node::Repeat { .. } => {
                return None;
            }
        }
    }
    None
}

/// Gives every repeat in `node` what the pattern needs after it: `then` is what follows
/// `node` needs (from the parent sequence, down through groups and alternatives).
fn follow(node: &mut Node, then: Needs) {
    match node {
        Node::Seq(nodes) => {
            let after: Vec<Needs> = (0..nodes.len())
                .map(|i| if i + 1 < nodes.len() { needs(&nodes[i + 1..]) } else { then.clone() })
                .collect();
            for (node, then) in nodes.iter_mut().zip(after) {
                follow(node, then);
            }
        }
        Node::Alt(alternatives) => {
            for alternative in alternatives {
                follow(alternative, then.clone());
            }
        }
        Node::Group(inner, _) => follow(inner, then),
        // What a lookahead matches is followed by nothing it checks.
        Node::Ahead(inner, _) => follow(inner, None),
        Node::Repeat { node: inner, then: slot, .. } => {
            *slot = then;
            // An iteration may be followed by another: nothing known.
            follow(inner, None);
        }
        Node::Char(_)
        | Node::Any
        | Node::Class { .. }
        | Node::Start
        | Node::End
        | Node::WordBoundary => {}
    }
}

/// `\b`: a word character on one side of `i` only.
fn is_boundary(s: &[char], i: usize) -> bool {
    let word = |j: usize| j < s.len() && is_word(s[j]);
    (i > 0 && word(i - 1)) != word(i)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `\d`, ASCII only: Python's also takes other scripts' decimal digits (`٣`), which this
/// subset does not carry tables for; such a digit then reads as text, not as a number.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

impl ClassItem {
    fn has(&self, c: char) -> bool {
        match self {
            ClassItem::Char(x) => *x == c,
            ClassItem::Range(a, b) => (*a..=*b).contains(&c),
            ClassItem::Digit => is_digit(c),
            ClassItem::Word => is_word(c),
            ClassItem::Space => c.is_whitespace(),
        }
    }
}

struct Parser<'p> {
    chars: &'p [char],
    at: usize,
    groups: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    fn alt(&mut self) -> Node {
        let mut alternatives = vec![self.seq()];
        while self.eat('|') {
            alternatives.push(self.seq());
        }
        if alternatives.len() == 1 {
            alternatives.pop().expect("one")
        } else {
            Node::Alt(alternatives)
        }
    }

    fn seq(&mut self) -> Node {
        let mut nodes = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom();
            nodes.push(self.quantified(atom));
        }
        Node::Seq(nodes)
    }

    fn quantified(&mut self, atom: Node) -> Node {
        let (min, max) = match self.peek() {
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('?') => (0, 1),
            _ => return atom,
        };
        self.at += 1;
        let greedy = !self.eat('?');
        Node::Repeat { node: Box::new(atom), min, max, greedy, then: None }
    }

    fn atom(&mut self) -> Node {
        let c = self.peek().expect("an atom");
        self.at += 1;
        match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                let node = if self.eat('?') {
                    if self.eat(':') {
                        Node::Group(Box::new(self.alt()), None)
                    } else {
                        assert!(self.eat('='), "unsupported group");
                        let groups = self.groups;
                        let inner = self.alt();
                        Node::Ahead(Box::new(inner), self.groups > groups)
                    }
                } else {
                    self.groups += 1;
                    let index = self.groups;
                    Node::Group(Box::new(self.alt()), Some(index))
                };
                assert!(self.eat(')'), "unclosed group");
                node
            }
            '[' => {
                let negated = self.eat('^');
                let mut items = Vec::new();
                while !self.eat(']') {
                    let item = self.class_item();
                    match item {
                        ClassItem::Char(a)
                            if self.peek() == Some('-')
                                && self.chars.get(self.at + 1) != Some(&']') =>
                        {
                            self.at += 1;
                            let ClassItem::Char(b) = self.class_item() else { panic!("bad range") };
                            items.push(ClassItem::Range(a, b));
                        }
                        item => items.push(item),
                    }
                }
                Node::Class { negated, items }
            }
            '\\' => {
                let e = self.peek().expect("an escape");
                self.at += 1;
                match e {
                    'b' => Node::WordBoundary,
                    'd' => Node::Class { negated: false, items: vec![ClassItem::Digit] },
                    'w' => Node::Class { negated: false, items: vec![ClassItem::Word] },
                    's' => Node::Class { negated: false, items: vec![ClassItem::Space] },
                    other => Node::Char(other),
                }
            }
            other => Node::Char(other),
        }
    }

    fn class_item(&mut self) -> ClassItem {
        let c = self.peek().expect("unclosed class");
        self.at += 1;
        if c != '\\' {
            return ClassItem::Char(c);
        }
        let e = self.peek().expect("an escape");
        self.at += 1;
        match e {
            'd' => ClassItem::Digit,
            'w' => ClassItem::Word,
            's' => ClassItem::Space,
            other => ClassItem::Char(other),
        }
    }
}

/// `re.match(pattern, value)` succeeds (the patterns BFCL anchors with `^…$`).
pub fn matches_at_start(pattern: &'static str, value: &str) -> bool {
    Re::cached(pattern, false).match_at(&chars(value), 0).is_some()
}

/// The text as chars, the unit Python's `re` indexes by.
pub fn chars(text: &str) -> Vec<char> {
    text.chars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(pattern: &str, text: &str, g: usize) -> Option<String> {
        Re::new(pattern).search(&chars(text)).and_then(|m| m.group(g))
    }

    /// The patterns of BFCL's converters (`java.rs`, `js.rs`), and a few more shapes.
    const PATTERNS: &[&str] = &[
        r"^-?\d+$",
        r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$",
        r"^-?\d+[lL]$",
        r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$",
        r"^-?\d+(\.\d+)?$",
        r"^-?\d+n$",
        r"[fF]$",
        r"[lL]$",
        r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)",
        r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}",
        r"add\((.+?)\)",
        r"new\s+ArrayList<\w*>\(\)",
        r"new\s+\w+\[\]\s*\{(.*?)\}",
        r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}",
        r#"put\("(.*?)",\s*(.*?)\)"#,
        r"new\s+HashMap<.*?>\s*\(\)",
        r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)",
        r"\[(.*?)\]",
        r"\[(.*?)\]|\bnew\s+Array\((.*?)\)",
        r"\{(.*?)\}",
        r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)",
        r"(a|b*)(?:x|y?)\s*(c|$)",
        r"(?:a,\s*(?=[^,]+:))+",
    ];

    impl Node {
        /// The node with nothing known about what follows its parts.
        fn without_needs(self) -> Node {
            let boxed = |node: Box<Node>| Box::new(node.without_needs());
            match self {
                Node::Seq(nodes) => Node::Seq(nodes.into_iter().map(Node::without_needs).collect()),
                Node::Alt(nodes) => Node::Alt(nodes.into_iter().map(Node::without_needs).collect()),
                Node::Group(inner, index) => Node::Group(boxed(inner), index),
                Node::Ahead(inner, captures) => Node::Ahead(boxed(inner), captures),
                Node::Repeat { node, min, max, greedy, .. } => {
                    Node::Repeat { node: boxed(node), min, max, greedy, then: None }
                }
                one => one,
            }
        }
    }

    type Groups = Vec<Option<String>>;

    /// Every match `re` finds in `text`, by `re.match` at each position and by `re.findall`,
    /// with all its groups, and whether it gave up.
    fn everything(re: &Re, text: &[char]) -> (Vec<Option<Groups>>, Vec<Groups>, bool) {
        let groups = |m: &Match| (0..re.groups).map(|g| m.group(g)).collect::<Vec<_>>();
        let at = (0..=text.len()).map(|i| re.match_at(text, i).map(|m| groups(&m))).collect();
        let all = re.find_all(text).iter().map(groups).collect();
        (at, all, re.gave_up())
    }

    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        const PIECES: &[&str] = &[
            "new",
            " ",
            "\n",
            "\t",
            "HashMap",
            "ArrayList",
            "Array",
            "Arrays.asList",
            "put",
            "add",
            "<",
            ">",
            "<>",
            "(",
            ")",
            "()",
            "{",
            "}",
            "{{",
            "}}",
            "[",
            "]",
            "[]",
            ",",
            ":",
            ";",
            "'",
            "\"",
            "1",
            "-",
            ".",
            "e",
            "f",
            "L",
            "n",
            "x",
            "a",
            "b",
            "c",
            "y",
        ];
        proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
            .prop_map(|pieces| pieces.concat())
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// Trying only the lengths after which the rest of a pattern can start finds exactly
        /// what trying every length finds.
        #[test]
        fn needs_change_no_match(text in text(), dotall in proptest::bool::ANY) {
            let text = chars(&text);
            for pattern in PATTERNS {
                let fast = Re::build(pattern, dotall);
                let mut slow = Re::build(pattern, dotall);
                slow.root = slow.root.without_needs();
                slow.first = None;
                proptest::prop_assert_eq!(
                    everything(&fast, &text), everything(&slow, &text), "{}", pattern
                );
            }
        }
    }

    #[test]
    fn what_patterns_need() {
        let first = |pattern: &str| Re::new(pattern).first.map(|needs| needs.len());
        assert_eq!(first(r"\{(.*?)\}"), Some(1));
        assert_eq!(first(r"\[(.*?)\]|\bnew"), None);
        assert_eq!(first(r"\s*(?:a|b|$)"), Some(4));
        assert_eq!(first(r"(a|b*)"), None);
        // What follows a repeat, also from outside the group it is in.
        let then = |pattern: &str| {
            let Node::Seq(nodes) = Re::new(pattern).root else { panic!("{pattern}") };
            let Node::Group(inner, _) = &nodes[0] else { panic!("{pattern}") };
            let Node::Seq(inner) = &**inner else { panic!("{pattern}") };
            let Node::Repeat { then, .. } = &inner[0] else { panic!("{pattern}") };
            then.as_ref().map(|needs| needs.len())
        };
        assert_eq!(then(r"(.*?)(?:,\s*(?=[^,]+:)|$)"), Some(2));
        assert_eq!(then(r"(.*?)\s*\}?\s*\}"), Some(4));
        assert_eq!(then(r"(.*?)\s*"), None);
    }

    // Expected values are what CPython 3.11's `re` returns for the same call.
    #[test]
    fn python_semantics() {
        assert_eq!(group(r"^-?\d+$", "12\n", 0).as_deref(), Some("12"));
        assert_eq!(group(r"^-?\d+$", "12\n\n", 0), None);
        assert_eq!(group(r"\{(.*?)\}", "{a: 1}, {b}", 1).as_deref(), Some("a: 1"));
        assert_eq!(group(r"\{(.*?)\}", "{a:\n1}", 1), None);
        assert_eq!(
            Re::dotall(r"\{(.*?)\}").search(&chars("{a:\n1}")).and_then(|m| m.group(1)).as_deref(),
            Some("a:\n1")
        );
        assert_eq!(group(r"<.*?>\(", "<a<b>>(", 0).as_deref(), Some("<a<b>>("));
        assert_eq!(group(r"a|ab", "ab", 0).as_deref(), Some("a"));
        assert_eq!(group(r"(x)?y", "y", 1), None);
        assert_eq!(group(r"\bnew", "renew new", 0).map(|_| ()), Some(()));
        assert_eq!(group(r"(?:a,\s*(?=[^,]+:))+", "a, b:", 0).as_deref(), Some("a, "));
        assert_eq!(
            group(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]", "[[1], [2]]", 1).as_deref(),
            Some(", [2]")
        );
        let all: Vec<_> = Re::new(r"add\((.+?)\)")
            .find_all(&chars("add(1); add(2); add()"))
            .iter()
            .map(|m| m.group(1).unwrap())
            .collect();
        assert_eq!(all, ["1", "2"]);
        let empty: Vec<_> =
            Re::new(r"x*").find_all(&chars("axx")).iter().map(|m| m.group(0).unwrap()).collect();
        assert_eq!(empty, ["", "xx", ""]);
    }
}
