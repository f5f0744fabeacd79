//! `multipart/form-data` bodies, for the one form that sends a file (the composer's
//! attachment). The body is read whole up to the route's own limit (the pages' form limit is
//! far smaller), then split into its parts; no multipart crate is needed for that.

use axum::body::Body;
use bytes::Bytes;
use switchboard_app::AppError;
use switchboard_core::Invalid;

pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// The parts of a form, or `None` when the body is not `multipart/form-data`.
#[must_use]
pub fn parse(content_type: &str, body: &Bytes) -> Option<Vec<Part>> {
    let (essence, params) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').map(str::trim).find_map(|p| p.strip_prefix("boundary="))?.trim_matches('"');
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let next_part = format!("\r\n--{boundary}");
    let mut pos = find(body, delimiter.as_bytes(), 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2)? == b"--" {
            return Some(parts);
        }
        pos = find(body, b"\r\n", pos)? + 2;
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = std::str::from_utf8(body.get(pos..head_end)?).ok()?;
        let data_start = head_end + 4;
        let data_end = find(body, next_part.as_bytes(), data_start)?;
        let mut name = None;
        let mut file_name = None;
        let mut part_type = None;
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.eq_ignore_ascii_case("content-disposition") {
                for p in value.split(';').map(str::trim) {
                    if let Some(n) = p.strip_prefix("name=") {
                        name = Some(n.trim_matches('"').to_owned());
                    } else if let Some(f) = p.strip_prefix("filename=") {
                        file_name = Some(f.trim_matches('"').to_owned());
                    }
                }
            } else if key.eq_ignore_ascii_case("content-type") {
                part_type = Some(value.trim().to_owned());
            }
        }
        parts.push(Part { name: name?, file_name, content_type: part_type, data: body.slice(data_start..data_end) });
        pos = data_end + next_part.len();
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let offset = hay.get(i..)?.iter().position(|&b| b == first)?;
        i += offset;
        if hay.get(i..i + needle.len())? == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Reads a multipart body of at most `limit` bytes; a larger one is a mistake of `field`.
pub async fn read(content_type: &str, body: Body, limit: usize, field: &str) -> Result<Vec<Part>, AppError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AppError::from(Invalid::new(field, "media_too_large", format!("at most {} MB", limit / (1024 * 1024))))
    })?;
    parse(content_type, &bytes).ok_or_else(|| AppError::Malformed("the form could not be read".into()))
}

/// A text field of a form (empty when absent).
#[must_use]
pub fn text(parts: &[Part], name: &str) -> String {
    parts.iter().find(|p| p.name == name).map(|p| String::from_utf8_lossy(&p.data).into_owned()).unwrap_or_default()
}

/// Every value of a repeated text field, in order.
#[must_use]
pub fn texts(parts: &[Part], name: &str) -> Vec<String> {
    parts.iter().filter(|p| p.name == name).map(|p| String::from_utf8_lossy(&p.data).into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_browser_form() {
        let body = Bytes::from_static(
            b"------WebKitFormBoundaryAb\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nHello\r\n\
------WebKitFormBoundaryAb\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n\
------WebKitFormBoundaryAb--\r\n",
        );
        let parts = parse("multipart/form-data; boundary=----WebKitFormBoundaryAb", &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(text(&parts, "caption"), "Hello");
        assert_eq!(parts[1].file_name.as_deref(), Some("a b.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(&parts[1].data[..], b"\x89PNG\r\n--X");
        assert_eq!(text(&parts, "missing"), "");
        assert!(parse("application/x-www-form-urlencoded; charset=utf-8", &body).is_none());
        assert!(parse("multipart/form-data; boundary=XyZ", &Bytes::from_static(b"junk")).is_none());
    }
}
