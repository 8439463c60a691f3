//! A small RFC 4180 CSV reader and writer: quoted fields with `""` escapes, commas and line
//! breaks inside quotes, `\n` or `\r\n` line ends, a UTF-8 byte order mark. Each record keeps
//! its raw text (line end included), so the bytes a shard processed can be counted and hashed.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    pub fields: Vec<Cow<'a, str>>,
    /// The record as it appears in the input, line end included.
    pub raw: &'a str,
    /// 1-based line number of the record's first line.
    pub line: u64,
}

/// A record that could not be parsed (bad quoting); the reader resumes at the next line.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvError {
    pub message: String,
    pub raw: String,
    pub line: u64,
}

struct Parsed<'a> {
    fields: Vec<Cow<'a, str>>,
    end: usize,
    newlines: u64,
}

pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
    line: u64,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a str) -> Self {
        let pos = if src.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Reader { src, pos, line: 1 }
    }

    /// Skips to the end of the current line; returns the end offset (after the line break).
    fn line_end(&self, from: usize) -> usize {
        match self.src[from..].find('\n') {
            Some(i) => from + i + 1,
            None => self.src.len(),
        }
    }

    /// Parses the record at `start`: its fields, where it ends (after its line break) and how
    /// many line breaks its quoted fields hold; or what is wrong and where to resume.
    fn parse_record(&self, start: usize) -> Result<Parsed<'a>, (String, usize)> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut fields = Vec::new();
        let mut i = start;
        let mut newlines = 0u64;
        loop {
            // One field starts at i.
            if i < bytes.len() && bytes[i] == b'"' {
                let mut value = String::new();
                let mut j = i + 1;
                let mut chunk = j;
                loop {
                    match src[j..].find('"') {
                        None => return Err(("unterminated quoted field".into(), src.len())),
                        Some(k) => {
                            let q = j + k;
                            newlines += src[j..q].bytes().filter(|&b| b == b'\n').count() as u64;
                            if bytes.get(q + 1) == Some(&b'"') {
                                value.push_str(&src[chunk..=q]);
                                j = q + 2;
                                chunk = j;
                            } else {
                                value.push_str(&src[chunk..q]);
                                j = q + 1;
                                break;
                            }
                        }
                    }
                }
                fields.push(Cow::Owned(value));
                i = j;
                match bytes.get(i) {
                    None => {
                        return Ok(Parsed {
                            fields,
                            end: i,
                            newlines,
                        });
                    }
                    Some(b',') => i += 1,
                    Some(b'\n') => {
                        return Ok(Parsed {
                            fields,
                            end: i + 1,
                            newlines,
                        });
                    }
                    Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => {
                        return Ok(Parsed {
                            fields,
                            end: i + 2,
                            newlines,
                        });
                    }
                    Some(_) => {
                        return Err(("unexpected character after a closing quote".into(), self.line_end(i)));
                    }
                }
            } else {
                let rest = &src[i..];
                let end = rest.find([',', '\n']).map(|k| i + k).unwrap_or(src.len());
                let mut value_end = end;
                let at_line_end = end == src.len() || bytes[end] == b'\n';
                if at_line_end && value_end > i && bytes[value_end - 1] == b'\r' {
                    value_end -= 1;
                }
                fields.push(Cow::Borrowed(&src[i..value_end]));
                if end == src.len() {
                    return Ok(Parsed { fields, end, newlines });
                }
                if bytes[end] == b'\n' {
                    return Ok(Parsed {
                        fields,
                        end: end + 1,
                        newlines,
                    });
                }
                i = end + 1;
            }
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.src.len() {
                return None;
            }
            let start = self.pos;
            let line = self.line;
            // Blank lines are not records.
            let rest = &self.src[start..];
            if rest.starts_with('\n') || rest.starts_with("\r\n") {
                self.pos += if rest.starts_with('\n') { 1 } else { 2 };
                self.line += 1;
                continue;
            }
            return Some(match self.parse_record(start) {
                Ok(Parsed { fields, end, newlines }) => {
                    self.pos = end;
                    let raw = &self.src[start..end];
                    self.line += newlines + u64::from(raw.ends_with('\n'));
                    Ok(Record { fields, raw, line })
                }
                Err((message, resume)) => {
                    self.pos = resume;
                    let raw = &self.src[start..resume];
                    self.line += raw.bytes().filter(|&b| b == b'\n').count() as u64;
                    Err(CsvError {
                        message,
                        raw: raw.to_string(),
                        line,
                    })
                }
            });
        }
    }
}

/// Quotes a field when it needs it (a comma, a quote, a line break, or leading/trailing space).
pub fn escape(field: &str) -> Cow<'_, str> {
    let needs = field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ');
    if needs {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Appends one record, `\n`-terminated.
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&escape(f.as_ref()));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(src: &str) -> Vec<Result<Vec<String>, String>> {
        Reader::new(src)
            .map(|r| {
                r.map(|r| r.fields.iter().map(|f| f.to_string()).collect())
                    .map_err(|e| e.message)
            })
            .collect()
    }

    #[test]
    fn plain_and_quoted_fields() {
        let got = fields("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n,,\n");
        assert_eq!(
            got,
            vec![
                Ok(vec!["a".into(), "b".into(), "c".into()]),
                Ok(vec!["1".into(), "x, y".into(), "say \"hi\"".into()]),
                Ok(vec!["".into(), "".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn crlf_bom_blank_lines_and_no_trailing_newline() {
        let got = fields("\u{feff}a,b\r\n\r\n1,2\r\n\n3,\"4\"");
        assert_eq!(
            got,
            vec![
                Ok(vec!["a".into(), "b".into()]),
                Ok(vec!["1".into(), "2".into()]),
                Ok(vec!["3".into(), "4".into()]),
            ]
        );
    }

    #[test]
    fn line_breaks_inside_quotes_and_line_numbers() {
        let src = "h\n\"multi\nline\"\nnext\n";
        let recs: Vec<_> = Reader::new(src).map(|r| r.unwrap()).collect();
        assert_eq!(recs[1].fields[0], "multi\nline");
        assert_eq!(recs[1].line, 2);
        assert_eq!(recs[2].line, 4);
        // Raw spans cover the input exactly.
        assert_eq!(recs.iter().map(|r| r.raw).collect::<String>(), src);
    }

    #[test]
    fn bad_quoting_is_an_error_for_that_record_only() {
        let got = fields("a,b\n\"x\"y,1\n2,3\n\"open,4\n");
        assert_eq!(got[0], Ok(vec!["a".into(), "b".into()]));
        assert_eq!(got[1], Err("unexpected character after a closing quote".into()));
        assert_eq!(got[2], Ok(vec!["2".into(), "3".into()]));
        assert_eq!(got[3], Err("unterminated quoted field".into()));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn writer_round_trips() {
        let rows = vec![
            vec!["plain", "with,comma", "with \"quote\""],
            vec!["multi\nline", "", " padded "],
        ];
        let mut out = String::new();
        for r in &rows {
            write_record(&mut out, r);
        }
        let back: Vec<Vec<String>> = Reader::new(&out)
            .map(|r| r.unwrap().fields.iter().map(|f| f.to_string()).collect())
            .collect();
        assert_eq!(back, rows);
    }
}
