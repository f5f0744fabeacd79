//! Pagination: every list answers `{"items":[…],"next_cursor":null|"…"}`. Cursors are opaque
//! to clients (base64url of the last id) and are validated when they come back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use uuid::Uuid;

use crate::{AppError, AppResult};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells whether there is
    /// a next page, and the cursor is the key of the last row shown.
    pub fn from_rows<R>(mut rows: Vec<R>, limit: i64, key: impl Fn(&R) -> Cursor, view: impl FnMut(R) -> T) -> Self {
        let more = usize::try_from(limit).is_ok_and(|l| rows.len() > l);
        if more {
            rows.truncate(usize::try_from(limit).unwrap_or(0));
        }
        let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
        Page { items: rows.into_iter().map(view).collect(), next_cursor }
    }
}

/// The limit to query with (one more than shown, see [`Page::from_rows`]).
#[must_use]
pub fn limit(requested: Option<u32>) -> i64 {
    i64::from(requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT))
}

pub enum Cursor {
    Id(Uuid),
    Seq(i64),
    /// A time and an id: lists ordered by a timestamp with the id as tie-breaker.
    AtId(i64, Uuid),
}

impl Cursor {
    #[must_use]
    pub fn encode(&self) -> String {
        match self {
            Cursor::Id(id) => URL_SAFE_NO_PAD.encode(id.as_bytes()),
            Cursor::Seq(n) => URL_SAFE_NO_PAD.encode(n.to_be_bytes()),
            Cursor::AtId(at, id) => {
                let mut b = at.to_be_bytes().to_vec();
                b.extend_from_slice(id.as_bytes());
                URL_SAFE_NO_PAD.encode(b)
            }
        }
    }
}

fn bad_cursor() -> AppError {
    AppError::Malformed("invalid cursor".into())
}

pub fn decode_id(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .map(|c| {
            let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            Uuid::from_slice(&bytes).map_err(|_| bad_cursor())
        })
        .transpose()
}

pub fn decode_seq(cursor: Option<&str>) -> AppResult<Option<i64>> {
    cursor
        .map(|c| {
            let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            let arr: [u8; 8] = bytes.as_slice().try_into().map_err(|_| bad_cursor())?;
            Ok(i64::from_be_bytes(arr))
        })
        .transpose()
}

pub fn decode_at_id(cursor: Option<&str>) -> AppResult<Option<(i64, Uuid)>> {
    cursor
        .map(|c| {
            let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            let (at, id) = bytes.split_at_checked(8).ok_or_else(bad_cursor)?;
            let at: [u8; 8] = at.try_into().map_err(|_| bad_cursor())?;
            Ok((i64::from_be_bytes(at), Uuid::from_slice(id).map_err(|_| bad_cursor())?))
        })
        .transpose()
}
