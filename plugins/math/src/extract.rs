//! Finding the final answer in a full completion.

use std::sync::LazyLock;

use memchr::memmem;

use crate::search;

/// Where answers are looked for, in order of priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Boxes, then answer tags, then "final answer"/"answer is" phrases, then bold, then the
    /// last math span, then the last number.
    #[default]
    Auto,
    /// Only `\boxed{}`/`\fbox{}`.
    Boxed,
    /// The whole completion is the answer.
    Whole,
}

/// The answer text of a completion, or `None` when there is none.
pub fn answer(completion: &str, mode: Mode) -> Option<String> {
    // Reasoning before `</think>` is not the answer.
    const THINK_END: &str = "</think>";
    let text = search::rfind(completion, THINK_END)
        .map_or(completion, |at| &completion[at + THINK_END.len()..]);
    match mode {
        Mode::Whole => non_empty(text),
        Mode::Boxed => boxed(text),
        Mode::Auto => boxed(text)
            .or_else(|| tagged(text, "<answer>", "</answer>"))
            .or_else(|| phrase(text))
            .or_else(|| bold(text))
            .or_else(|| math_span_or_later_number(text))
            .or_else(|| short(text))
            .or_else(|| last_number(text)),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The content of the last `\boxed{…}` / `\fbox{…}`, joined with adjacent boxes
/// (`\boxed{1}, \boxed{2}` → `1, 2`); `\boxed 5` also counts.
fn boxed(text: &str) -> Option<String> {
    // Each box as (start, end, body), bodies borrowed: only the answer is copied.
    let mut boxes: Vec<(usize, usize, &str)> = Vec::new();
    let mut from = 0;
    while let Some((at, len)) = next_box(&text[from..]) {
        let start = from + at;
        let after = start + len;
        let rest = &text[after..];
        if let Some(body) = rest.strip_prefix('{') {
            if let Some(end) = balanced(body) {
                boxes.push((start, after + 1 + end + 1, &body[..end]));
                from = after + 1 + end + 1;
                continue;
            }
        } else if let Some(body) = rest.strip_prefix(' ') {
            let word =
                body.find(|c: char| c.is_whitespace() || c == '$').map_or(body, |e| &body[..e]);
            if !word.is_empty() {
                boxes.push((start, after + 1 + word.len(), word));
            }
        }
        from = after;
    }
    let (mut start, _, last) = boxes.pop()?;
    let mut parts = vec![last];
    while let Some(&(s, end, body)) = boxes.last() {
        let between = &text[end..start];
        if joins(between) {
            parts.insert(0, body);
            start = s;
            boxes.pop();
        } else {
            break;
        }
    }
    parts.dedup();
    let joined = parts.join(", ");
    // `\boxed{\boxed{100}}`: the innermost box.
    if next_box(&joined).is_some() {
        return boxed(&joined).or_else(|| non_empty(&joined));
    }
    non_empty(&joined)
}

/// The first `\boxed` or `\fbox` in `text`: its byte offset and length. Both hold `box`, which
/// a vectorised search finds in long completions far faster than stopping at every backslash.
pub(crate) fn next_box(text: &str) -> Option<(usize, usize)> {
    static BOX: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("box"));
    let bytes = text.as_bytes();
    BOX.find_iter(bytes).find_map(|j| {
        if j >= 1 && bytes[j - 1] == b'\\' && bytes[j..].starts_with(b"boxed") {
            Some((j - 1, "\\boxed".len()))
        } else if j >= 2 && &bytes[j - 2..j] == b"\\f" {
            Some((j - 2, "\\fbox".len()))
        } else {
            None
        }
    })
}

/// Whether the text between two boxes makes them one answer: nothing, punctuation, spacing,
/// or a few words ending in "and"/"or" (`\boxed{1} papers and \boxed{2} bins`).
fn joins(between: &str) -> bool {
    let mut text = between.to_owned();
    for noise in
        ["\\qquad", "\\quad", "\\text{", "\\mbox{", "\\,", "\\;", "}", "$", ",", ";", "\\(", "\\)"]
    {
        text = search::replace(&text, noise, " ");
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words.is_empty() || (words.len() <= 3 && matches!(words.last(), Some(&"and" | &"or")))
}

/// Byte offset of the `}` closing an already-opened brace in `body`.
fn balanced(body: &str) -> Option<usize> {
    let mut depth = 1usize;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The text between the last `open` tag and the `close` after it (or the end).
fn tagged(text: &str, open: &str, close: &str) -> Option<String> {
    let start = search::rfind(text, open)? + open.len();
    let end = search::find(&text[start..], close).map_or(text.len(), |e| start + e);
    non_empty(&text[start..end]).and_then(|inner| boxed(&inner).or(Some(inner)))
}

/// The text after the last "final answer is", "answer:", "the answer is", … on its line.
fn phrase(text: &str) -> Option<String> {
    // ASCII text, nearly all, is searched as it is (the anchors' case ignored); other text is
    // lowered first and read only where lowering kept every byte where it was.
    let (pos, len) = if text.is_ascii() {
        last_anchor(text)?
    } else {
        let lower = text.to_lowercase();
        let found = last_anchor(&lower)?;
        if lower.len() != text.len() {
            return None;
        }
        found
    };
    let rest = &text[pos + len..];
    let line = rest.trim_start().lines().next().unwrap_or("");
    let line = search::find(line, ". I hope").map_or(line, |at| &line[..at]);
    let line = line.trim().trim_end_matches('.').trim();
    let line = line.trim_start_matches(':').trim();
    let line = line.strip_prefix("**").and_then(|l| l.strip_suffix("**")).unwrap_or(line);
    // "Final Answer: The largest $n$ is 34.": a sentence, so look inside it.
    let words =
        line.split_whitespace().filter(|w| w.len() >= 3 && w.chars().all(char::is_alphabetic));
    if words.count() >= 2 {
        return math_span_or_later_number(line)
            .or_else(|| last_number(line))
            .or_else(|| non_empty(line));
    }
    non_empty(line)
}

/// The last place in `text` where an answer phrase starts, ASCII case ignored: its byte offset
/// and length (the longest phrase, where several start there).
fn last_anchor(text: &str) -> Option<(usize, usize)> {
    const ANCHORS: [&str; 6] =
        ["final answer is", "final answer:", "the answer is", "answer is:", "answer:", "answer is"];
    let bytes = text.as_bytes();
    let at = |start: usize, word: &str| {
        bytes
            .get(start..start + word.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(word.as_bytes()))
    };
    // Each phrase holds "answer", so the places it occurs are the only ones to look at; the
    // last of them where a phrase fits decides (occurrences are six bytes apart at least).
    // They are found by their `w`, a letter much rarer than `a` in prose and mathematics.
    let answers = memchr::memchr2_iter(b'w', b'W', bytes).rev().filter_map(|w| w.checked_sub(3));
    answers.filter(|&i| at(i, "answer")).find_map(|i| {
        ANCHORS
            .iter()
            .filter_map(|a| {
                let start = i.checked_sub(search::find(a, "answer")?)?;
                at(start, a).then_some((start, a.len()))
            })
            .max()
    })
}

fn bold(text: &str) -> Option<String> {
    let end = search::rfind(text, "**")?;
    let start = search::rfind(&text[..end], "**")? + 2;
    let inner = &text[start..end];
    (inner.len() <= 80 && inner.chars().any(|c| c.is_ascii_digit()))
        .then(|| inner.trim().to_owned())
}

/// The last `$…$`, `\(…\)` or `\[…\]` span.
fn math_span(text: &str) -> Option<String> {
    let candidates = [("\\[", "\\]"), ("\\(", "\\)"), ("$$", "$$"), ("$", "$")];
    candidates
        .iter()
        .filter_map(|(open, close)| {
            let end = search::rfind(text, close)?;
            let start = search::rfind(&text[..end], open)? + open.len();
            let inner = non_empty(&text[start..end])?;
            Some((end, inner))
        })
        .max_by_key(|(end, _)| *end)
        .map(|(_, s)| s)
}

/// The last math span, unless a number comes after it ("the largest $n$ is 34").
fn math_span_or_later_number(text: &str) -> Option<String> {
    let span = math_span(text)?;
    let span_end = search::rfind(text, &span).map_or(0, |p| p + span.len());
    let tail = &text[span_end..];
    match last_number(tail) {
        Some(number) if tail.trim_start_matches(['$', ' ']).len() > 1 => Some(number),
        _ => Some(span),
    }
}

/// A short completion is its own answer.
fn short(text: &str) -> Option<String> {
    let t = text.trim();
    (t.len() <= 40 && !search::contains(t, ". ")).then(|| t.to_owned()).filter(|s| !s.is_empty())
}

/// The last number in the text, with a sign, decimals or a `/` fraction.
fn last_number(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut end = chars.len();
    while end > 0 && !chars[end - 1].is_ascii_digit() {
        end -= 1;
    }
    if end == 0 {
        return None;
    }
    let mut start = end;
    while start > 0
        && (chars[start - 1].is_ascii_digit() || matches!(chars[start - 1], '.' | ',' | '/'))
    {
        start -= 1;
    }
    if start > 0 && chars[start - 1] == '-' {
        start -= 1;
    }
    let s: String = chars[start..end].iter().collect();
    non_empty(s.trim_start_matches([',', '.', '/']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(s: &str) -> Option<String> {
        answer(s, Mode::Auto)
    }

    #[test]
    fn boxes_win_and_join() {
        assert_eq!(auto("so \\boxed{\\frac{1}{2}} done").as_deref(), Some("\\frac{1}{2}"));
        assert_eq!(auto("\\boxed{1} then \\boxed{2}").as_deref(), Some("2"));
        assert_eq!(auto("$\\boxed{1}, \\boxed{2}$").as_deref(), Some("1, 2"));
        assert_eq!(auto("\\boxed 5.").as_deref(), Some("5."));
        assert_eq!(auto("<think>\\boxed{3}</think> The answer is 4.").as_deref(), Some("4"));
    }

    proptest::proptest! {
        /// Finding boxes by their `box` finds what stopping at every backslash found.
        #[test]
        fn boxes_are_found_as_at_every_backslash(text in "(\\\\|box|boxed|f|fbox|ed|x| |é)*") {
            proptest::prop_assert_eq!(
                next_box(&text),
                search::find_any(&text, b'\\', &["\\boxed", "\\fbox"])
            );
        }

        /// Looking for the phrases in place, case ignored, finds what looking in the lowered
        /// text found.
        #[test]
        fn anchors_are_found_as_in_the_lowered_text(
            text in "(ANSWER|answer|Answer|final |FINAL |the |is|:| |x|É)*",
        ) {
            let lower = text.to_lowercase();
            let anchors =
                ["final answer is", "final answer:", "the answer is", "answer is:", "answer:", "answer is"];
            let expected = anchors
                .iter()
                .flat_map(|a| lower.match_indices(a).map(|(at, _)| (at, a.len())).collect::<Vec<_>>())
                .max();
            proptest::prop_assert_eq!(last_anchor(&lower), expected);
            if text.is_ascii() {
                proptest::prop_assert_eq!(last_anchor(&text), expected);
            }
        }
    }

    #[test]
    fn phrases_tags_bold_and_numbers() {
        assert_eq!(
            auto("Final Answer: The final answer is $7$. I hope it is correct.").as_deref(),
            Some("$7$")
        );
        assert_eq!(auto("<answer>12</answer>").as_deref(), Some("12"));
        assert_eq!(auto("so we get **73** apples in all, which is plenty.").as_deref(), Some("73"));
        assert_eq!(
            auto("we computed it and obtained -3.5 in the end, after all.").as_deref(),
            Some("-3.5")
        );
        assert_eq!(auto("no digits here at all, sorry about that friend."), None);
    }
}
