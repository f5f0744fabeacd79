//! Webhook bodies shaped exactly like Meta's (PROTOCOLS §1), the size of the reference
//! payload in LIMITS.md: 1,536 bytes with a ~1 KB text, signed with the number's app secret.

use bytes::Bytes;
use switchboard_channels::whatsapp::signature;

/// Repeated into a ~1 KB message text (nothing in it needs escaping in JSON).
const TEXT: &str = "Merhaba, geçen hafta verdiğim sipariş hakkında yazıyorum. ";

pub struct Inbound {
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub secret: Vec<u8>,
    text: String,
}

/// One signed delivery.
pub struct Signed {
    pub body: Bytes,
    pub signature: String,
}

impl Inbound {
    #[must_use]
    pub fn new(waba_id: &str, phone_number_id: &str, display_phone_number: &str, secret: &str) -> Self {
        let mut text = String::with_capacity(1100);
        while text.len() + TEXT.len() <= 1040 {
            text.push_str(TEXT);
        }
        Self {
            waba_id: waba_id.into(),
            phone_number_id: phone_number_id.into(),
            display_phone_number: display_phone_number.into(),
            secret: secret.as_bytes().to_vec(),
            text,
        }
    }

    /// Customer number `n` of a pool (Turkish mobile numbers).
    #[must_use]
    pub fn customer(n: usize) -> String {
        format!("90532{:07}", n % 10_000_000)
    }

    /// A text message from customer `from_n` with a wamid unique to (`stream`, `seq`).
    #[must_use]
    pub fn text(&self, stream: usize, seq: u64, from_n: usize) -> Signed {
        let from = Self::customer(from_n);
        let ts = jiff::Timestamp::now().as_second();
        let body = format!(
            concat!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{waba}","changes":[{{"value":{{"#,
                r#""messaging_product":"whatsapp","metadata":{{"display_phone_number":"{display}","phone_number_id":"{pnid}"}},"#,
                r#""contacts":[{{"profile":{{"name":"Customer {n}"}},"wa_id":"{from}"}}],"#,
                r#""messages":[{{"from":"{from}","id":"wamid.HBgMOTA1MzIwMDAwMDAxFQIAEhgg{stream:04X}{seq:016X}AA==","timestamp":"{ts}","type":"text","text":{{"body":"{text}"}}}}]"#,
                r#"}},"field":"messages"}}]}}]}}"#
            ),
            waba = self.waba_id,
            display = self.display_phone_number,
            pnid = self.phone_number_id,
            n = from_n,
            from = from,
            stream = stream,
            seq = seq,
            ts = ts,
            text = self.text,
        );
        let signature = signature::sign(&self.secret, body.as_bytes());
        Signed { body: Bytes::from(body), signature }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_meta_shaped_and_reference_sized() {
        let p = Inbound::new("880000000000001", "106000000000001", "15550001111", "s");
        let d = p.text(3, 42, 7);
        let n = switchboard_channels::whatsapp::webhook::parse(&d.body).unwrap();
        assert_eq!(n.object, "whatsapp_business_account");
        assert!((1400..1700).contains(&d.body.len()), "{} bytes", d.body.len());
        assert!(signature::verify(b"s", Some(&d.signature), &d.body).is_ok());
        assert_ne!(p.text(3, 43, 7).body, d.body, "wamids differ");
    }
}
