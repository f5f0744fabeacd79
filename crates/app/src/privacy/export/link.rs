//! Signed, expiring download links for export bundles. The token is
//! `base64url(version ‖ tenant ‖ request ‖ expiry) "." base64url(HMAC)` under a key derived
//! from the master key: nothing is stored, a link cannot be forged or moved to another request,
//! and it stops working at its expiry (checked against the injected clock).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use switchboard_core::{Millis, TenantId};
use switchboard_privacy::MacKey;
use uuid::Uuid;

const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"export-link";
const PAYLOAD: usize = 1 + 16 + 16 + 8;

/// What a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub tenant: TenantId,
    pub request: Uuid,
    pub expires: Millis,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not a token of ours, or tampered with.
    Invalid,
    Expired,
}

#[must_use]
pub fn sign(key: &MacKey, link: Link) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD);
    payload.push(VERSION);
    payload.extend_from_slice(link.tenant.as_uuid().as_bytes());
    payload.extend_from_slice(link.request.as_bytes());
    payload.extend_from_slice(&link.expires.0.to_be_bytes());
    let tag = key.tag(DOMAIN, &payload);
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
}

pub fn verify(key: &MacKey, token: &str, now: Millis) -> Result<Link, LinkError> {
    let (p, t) = token.split_once('.').ok_or(LinkError::Invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| LinkError::Invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(t).map_err(|_| LinkError::Invalid)?;
    if payload.len() != PAYLOAD || payload.first() != Some(&VERSION) {
        return Err(LinkError::Invalid);
    }
    if !key.verify(DOMAIN, &payload, &tag) {
        return Err(LinkError::Invalid);
    }
    let uuid =
        |r: std::ops::Range<usize>| payload.get(r).and_then(|b| Uuid::from_slice(b).ok()).ok_or(LinkError::Invalid);
    let expiry: [u8; 8] = payload.get(33..41).and_then(|b| b.try_into().ok()).ok_or(LinkError::Invalid)?;
    let link = Link {
        tenant: TenantId::from_uuid(uuid(1..17)?),
        request: uuid(17..33)?,
        expires: Millis(i64::from_be_bytes(expiry)),
    };
    if now >= link.expires {
        return Err(LinkError::Expired);
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_privacy::MasterKey;

    #[test]
    fn links_verify_until_expiry_and_resist_tampering() {
        let key = MacKey::derive(&MasterKey::generate(), b"t");
        let link = Link { tenant: TenantId::new(), request: Uuid::now_v7(), expires: Millis(10_000) };
        let token = sign(&key, link);
        assert_eq!(verify(&key, &token, Millis(9_999)), Ok(link));
        assert_eq!(verify(&key, &token, Millis(10_000)), Err(LinkError::Expired));
        let other = MacKey::derive(&MasterKey::generate(), b"t");
        assert_eq!(verify(&other, &token, Millis(0)), Err(LinkError::Invalid));
        // Another request's id spliced into the payload fails the MAC.
        let forged = sign(&key, Link { request: Uuid::now_v7(), ..link });
        let spliced = format!("{}.{}", forged.split('.').next().unwrap(), token.split('.').nth(1).unwrap());
        assert_eq!(verify(&key, &spliced, Millis(0)), Err(LinkError::Invalid));
        for bad in ["", "x", "a.b", "..", &token[1..]] {
            assert_eq!(verify(&key, bad, Millis(0)), Err(LinkError::Invalid), "{bad:?}");
        }
    }
}
