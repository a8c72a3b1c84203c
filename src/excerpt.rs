//! Someone else's text quoted in a message.
//!
//! Input: text from a file or an index (a metadata field, a requirement
//! line, a TOML parser's complaint). Output: a short, one-line excerpt.
//! Invariant: a message quoting input through here stays a few lines long
//! whatever the input holds — no page of a README, no 10,000-character
//! line, no terminal control characters.

/// The most characters of someone else's text a message quotes.
pub const EXCERPT_CHARS: usize = 160;
/// The most characters of a parser's one-line complaint (which may quote
/// the input itself).
const COMPLAINT_CHARS: usize = 240;

/// `text`'s first line, at most [`EXCERPT_CHARS`] characters, control
/// characters escaped, `…` when anything was left out.
pub fn excerpt(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    let mut excerpt = cut(first_line, 0, EXCERPT_CHARS);
    if first_line.len() < text.trim_end().len() && !excerpt.ends_with('…') {
        excerpt.push('…');
    }
    excerpt
}

/// The most characters of a path a message shows; longer ones (a name
/// from an archive can be thousands of characters) keep their start and end.
const PATH_CHARS: usize = 320;

/// `path` for a message: whole unless very long, then its first and last
/// characters around `…`, control characters escaped.
pub fn path_excerpt(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    let count = text.chars().count();
    if count <= PATH_CHARS && !text.contains(char::is_control) {
        return text;
    }
    let half = PATH_CHARS / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text
        .chars()
        .skip(count.saturating_sub(half).max(half))
        .collect();
    let middle = if count > PATH_CHARS { "…" } else { "" };
    format!("{}{middle}{}", cut(&head, 0, half), cut(&tail, 0, half))
}

/// The most characters of a message [`shorten_quoted`] returns, whatever
/// its input (a value made of backticks defeats the quoting).
const MESSAGE_CHARS: usize = 600;

/// `message` with every quoted (backticked) span longer than
/// [`EXCERPT_CHARS`] cut to an excerpt: for messages built from values
/// read out of a file, whatever their length.
pub fn shorten_quoted(message: &str) -> String {
    let shortened = shorten_each_quote(message);
    if shortened.chars().count() > MESSAGE_CHARS {
        return cut(&shortened.replace('\n', " "), 0, MESSAGE_CHARS);
    }
    shortened
}

fn shorten_each_quote(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len() < 3 {
        return message.to_string();
    }
    let mut shortened = String::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            shortened.push('`');
        }
        let quoted = index % 2 == 1 && index + 1 < parts.len();
        if quoted && (part.chars().count() > EXCERPT_CHARS || part.contains('\n')) {
            shortened.push_str(&excerpt(part));
        } else {
            shortened.push_str(part);
        }
    }
    shortened
}

/// `limit` characters of `line` from character `start`, control characters
/// escaped, `…` on each side where something was cut.
fn cut(line: &str, start: usize, limit: usize) -> String {
    let mut excerpt = String::new();
    if start > 0 {
        excerpt.push('…');
    }
    let mut shown = 0;
    let mut characters = line.chars().skip(start).peekable();
    while let Some(character) = characters.next() {
        // Escaped control characters count at their shown width.
        let escaped: String = if character.is_control() {
            character.escape_default().collect()
        } else {
            character.to_string()
        };
        shown += escaped.chars().count();
        if shown > limit {
            excerpt.push('…');
            return excerpt;
        }
        excerpt.push_str(&escaped);
        if characters.peek().is_none() {
            break;
        }
    }
    excerpt
}

/// A library's one-line complaint about someone else's bytes (a tar
/// header's field, a zip entry): it may quote them, so every control
/// character is escaped and it is cut at [`COMPLAINT_CHARS`].
pub fn complaint(text: &str) -> String {
    shorten_quoted(&cut(text.trim(), 0, COMPLAINT_CHARS))
}

/// A pep508 error (`message`, the input line, carets under the fault),
/// its lines indented by four spaces after the first: a long input line
/// is cut to a window around the carets, which move with it.
pub fn caret_excerpt(message: &str) -> String {
    let mut lines = message.lines();
    let complaint = cut(lines.next().unwrap_or_default(), 0, COMPLAINT_CHARS);
    let (Some(input), Some(carets), None) = (lines.next(), lines.next(), lines.next()) else {
        return lines.fold(complaint, |text, line| {
            format!("{text}\n    {}", cut(line, 0, COMPLAINT_CHARS))
        });
    };
    let caret_start = carets
        .chars()
        .take_while(|&character| character == ' ')
        .count();
    let caret_count = carets.trim().chars().count().clamp(1, EXCERPT_CHARS / 2);
    let start = caret_start.saturating_sub(EXCERPT_CHARS / 2);
    let shown = cut(input, start, EXCERPT_CHARS);
    let shift = usize::from(start > 0);
    let carets = format!(
        "{}{}",
        " ".repeat(caret_start - start + shift),
        "^".repeat(caret_count)
    );
    format!("{complaint}\n    {shown}\n    {carets}")
}

/// A TOML syntax or type error as `line L, column C: <message>`, without
/// the source line the parser would print (it can be any length).
pub fn toml_error(error: &toml::de::Error, text: &str) -> String {
    let position = error.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        format!("line {line}, column {column}: ")
    });
    format!(
        "{}{}",
        position.unwrap_or_default(),
        excerpt(error.message().trim())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_one_short_line() {
        let readme = format!("{}\nsecond line\n", "x".repeat(500));
        let excerpt = excerpt(&readme);
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.ends_with('…'));
        assert_eq!(super::excerpt("short"), "short");
        assert_eq!(super::excerpt("a\x1b[1mb"), "a\\u{1b}[1mb");
        assert_eq!(super::excerpt("first\nsecond"), "first…");
    }

    #[test]
    fn complaints_are_one_line_whatever_they_quote() {
        let quoted = format!(
            "numeric field was not a number: {}\n\n| x",
            "\u{0}".repeat(400)
        );
        let shown = complaint(&quoted);
        assert!(!shown.contains('\n') && !shown.contains('\u{0}'), "{shown}");
        assert!(shown.chars().count() <= COMPLAINT_CHARS + 1, "{shown}");
        assert_eq!(
            complaint("unexpected end of file"),
            "unexpected end of file"
        );
    }

    #[test]
    fn pep508_errors_keep_their_carets_under_a_window_of_the_line() {
        let short = "Expected a version\nfoo ==\n      ^";
        assert_eq!(
            caret_excerpt(short),
            "Expected a version\n    foo ==\n          ^"
        );
        let long = format!(
            "no such operator\n{}x=1{}\n{}^^",
            "a".repeat(300),
            "b".repeat(300),
            " ".repeat(301)
        );
        let excerpt = caret_excerpt(&long);
        let lines: Vec<&str> = excerpt.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].chars().count() <= EXCERPT_CHARS + 6, "{excerpt}");
        let caret = lines[2].find('^').unwrap();
        let under: String = lines[1].chars().skip(caret).take(2).collect();
        assert_eq!(under, "=1", "{excerpt}");
    }

    #[test]
    fn long_quoted_values_are_cut_and_the_rest_kept() {
        let long = "x".repeat(500);
        let message = format!("package `{long}`: key `name`: `{long}` is not an sdist");
        let short = shorten_quoted(&message);
        assert!(short.ends_with("` is not an sdist"), "{short}");
        assert!(short.contains("key `name`: `xxx"), "{short}");
        assert!(short.len() < 400, "{short}");
        assert_eq!(shorten_quoted("plain `a` text"), "plain `a` text");
        let backticks = format!("entry `{}` is invalid", "`".repeat(5_000));
        assert!(shorten_quoted(&backticks).chars().count() <= MESSAGE_CHARS + 1);
    }

    #[test]
    fn long_paths_keep_their_start_and_end() {
        let path = std::path::PathBuf::from(format!("/srv/{}/end.txt", "x".repeat(5_000)));
        let shown = path_excerpt(&path);
        assert!(
            shown.starts_with("/srv/xxx") && shown.ends_with("xxx/end.txt"),
            "{shown}"
        );
        assert!(shown.chars().count() <= PATH_CHARS + 1, "{shown}");
        assert_eq!(path_excerpt(std::path::Path::new("/tmp/a")), "/tmp/a");
    }

    #[test]
    fn toml_errors_name_the_place_not_the_line() {
        let text = format!("name = \"ok\"\nversion = {}\n", "9".repeat(5_000));
        let error = toml::from_str::<toml::Table>(&text).unwrap_err();
        let message = toml_error(&error, &text);
        assert!(message.starts_with("line 2, column 11: "), "{message}");
        assert!(message.len() < 200, "{message}");
    }
}
