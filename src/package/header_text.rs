//! Text from a wheel's metadata made fit for an RPM header.
//!
//! Input: a summary, description, license or URL as the wheel's METADATA
//! states it — in the wild that means CR LF line endings, tabs, ANSI colour
//! codes, form feeds and other control characters. Output: text rpm (and
//! the repository's XML) accepts. Invariants: line endings become `\n`;
//! control characters other than tab and newline are dropped (rpm refuses
//! them in a header, XML 1.0 cannot carry most of them); a one-line field
//! has every run of whitespace folded into one space; nothing else of the
//! author's text changes.

/// Multi-line text (the description).
pub fn header_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|character| !character.is_control() || matches!(character, '\t' | '\n'))
        .collect()
}

/// One line (summary, license, URL).
pub fn header_line(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' => ' ',
            other => other,
        })
        .filter(|character| !character.is_control())
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_their_lines_and_lose_control_characters() {
        let description = "Title\r\n=====\r\n\r\n\x1b[1mbold\x1b[0m\tand\x0cmore\rlast\u{85}";
        assert_eq!(
            header_text(description),
            "Title\n=====\n\n[1mbold[0m\tandmore\nlast"
        );
        assert_eq!(header_text("plain\ntext"), "plain\ntext");
    }

    #[test]
    fn one_line_fields_fold_whitespace() {
        assert_eq!(
            header_line("  A library\r\n  for\tthings\x07 "),
            "A library for things"
        );
    }
}
