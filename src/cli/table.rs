//! Plain-text tables for command output: columns padded to their widest
//! cell, two spaces apart, no trailing blanks.

/// Print `rows` (the first one is the header) to stdout.
pub fn print_table<Row: AsRef<[String]>>(rows: &[Row]) {
    for line in render_table(rows) {
        println!("{line}");
    }
}

/// The lines of the table.
pub fn render_table<Row: AsRef<[String]>>(rows: &[Row]) -> Vec<String> {
    let columns = rows.iter().map(|row| row.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            row.as_ref()
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect()
}

/// `1.5 MiB`: sizes as the tables and summaries show them.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::render_table;

    #[test]
    fn pads_columns_to_the_widest_cell() {
        let rows = [
            ["package".to_string(), "size".to_string()],
            ["a".to_string(), "10 KiB".to_string()],
        ];
        assert_eq!(render_table(&rows), ["package  size", "a        10 KiB"]);
    }
}
