//! CSV for export bundles: RFC 4180 (CRLF line ends; a field with a comma, quote, CR or LF is
//! quoted and its quotes doubled) and safe to open in a spreadsheet. A cell that begins with
//! `=`, `+`, `-`, `@`, TAB, CR or NUL would be read as a formula (OWASP "CSV injection",
//! PRIVACY.md §2.4 case 31), so it gets a leading apostrophe, which spreadsheets show as
//! "text follows". That makes `+905321112233` appear as `'+905321112233` in the file; the
//! value itself is also in `subject.json`, unaltered.

/// Builds one CSV file.
pub struct Csv {
    out: String,
    columns: usize,
}

impl Csv {
    #[must_use]
    pub fn new(header: &[&str]) -> Self {
        let mut c = Self { out: String::new(), columns: header.len() };
        c.push_row(header.iter().map(|h| (*h).to_owned()));
        c
    }

    /// Appends a record. Missing trailing cells are written empty.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push_row(cells.into_iter().map(Into::into));
    }

    fn push_row(&mut self, cells: impl Iterator<Item = String>) {
        let mut n = 0;
        for cell in cells.take(self.columns) {
            if n > 0 {
                self.out.push(',');
            }
            self.out.push_str(&field(&cell));
            n += 1;
        }
        for _ in n..self.columns {
            self.out.push(',');
        }
        self.out.push_str("\r\n");
    }

    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// One field: defused, then quoted when needed.
#[must_use]
pub fn field(value: &str) -> String {
    let defused =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']) { format!("'{value}") } else { value.to_owned() };
    if defused.contains([',', '"', '\r', '\n']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal RFC 4180 reader, to prove the writer's output reads back.
    fn parse(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut cell)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => cell.push(c),
            }
        }
        rows
    }

    /// PRIVACY.md §2.4 case 31: formula starters are defused.
    #[test]
    fn formulas_are_inert() {
        for (value, expected) in [
            ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(1)", "'@SUM(1)"),
            ("-2+3", "'-2+3"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("\0x", "'\0x"),
            ("Ayşe", "Ayşe"),
            ("a=b", "a=b"),
        ] {
            let mut c = Csv::new(&["v"]);
            c.row([value]);
            let text = String::from_utf8(c.into_bytes()).unwrap();
            assert_eq!(parse(&text)[1], vec![expected.to_owned()], "{value:?}");
        }
    }

    /// PRIVACY.md §2.4 case 32: commas, quotes and line breaks survive a round trip.
    #[test]
    fn rfc4180_round_trip() {
        let values = ["a,b", "say \"hi\"", "two\nlines", "crlf\r\nx", "plain", ""];
        let mut c = Csv::new(&["a", "b", "c", "d", "e", "f"]);
        c.row(values);
        let text = String::from_utf8(c.into_bytes()).unwrap();
        assert!(text.starts_with("a,b,c,d,e,f\r\n"));
        assert!(text.contains("\"say \"\"hi\"\"\""));
        let rows = parse(&text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1], values.map(str::to_owned).to_vec());
    }

    #[test]
    fn short_rows_are_padded() {
        let mut c = Csv::new(&["a", "b"]);
        c.row(["x"]);
        assert_eq!(String::from_utf8(c.into_bytes()).unwrap(), "a,b\r\nx,\r\n");
    }
}
