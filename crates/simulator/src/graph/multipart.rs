//! Just enough `multipart/form-data` parsing for the media upload (`curl -F` and the channels
//! client both produce it), without pulling in a multipart crate.

use bytes::Bytes;

pub(super) struct Part {
    pub name: String,
    pub content_type: Option<String>,
    pub data: Bytes,
}

pub(super) fn parse(content_type: &str, body: &Bytes) -> Option<Vec<Part>> {
    let boundary = content_type.split(';').map(str::trim).find_map(|p| p.strip_prefix("boundary="))?.trim_matches('"');
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
        let mut part_type = None;
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.eq_ignore_ascii_case("content-disposition") {
                name = value
                    .split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_owned());
            } else if key.eq_ignore_ascii_case("content-type") {
                part_type = Some(value.trim().to_owned());
            }
        }
        parts.push(Part { name: name?, content_type: part_type, data: body.slice(data_start..data_end) });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_style_form() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n\
--XyZ--\r\n",
        );
        let parts = parse("multipart/form-data; boundary=XyZ", &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "messaging_product");
        assert_eq!(&parts[0].data[..], b"whatsapp");
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(&parts[1].data[..], b"\x89PNG\r\n--X");
        assert!(parse("multipart/form-data", &body).is_none());
        assert!(parse("multipart/form-data; boundary=XyZ", &Bytes::from_static(b"junk")).is_none());
    }
}
