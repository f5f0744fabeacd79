//! Meta's error object (PROTOCOLS §2.7) in both forms: the synchronous Graph answer
//! `{"error":{…}}` and the `errors[]` entry of a `failed` status webhook.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const HREF: &str = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// Title and details Meta uses for the codes the simulator produces.
fn describe(code: i64) -> (&'static str, &'static str) {
    match code {
        0 | 190 => {
            ("Invalid OAuth access token - Cannot parse access token", "The access token is invalid or has expired.")
        }
        100 => ("Invalid parameter", "Invalid parameter"),
        368 => ("Temporarily blocked for policies violations", "The WhatsApp Business Account is restricted."),
        130429 => ("Rate limit hit", "Cloud API message throughput has been reached."),
        130472 => (
            "User's number is part of an experiment",
            "Failed to send message because this user's phone number is part of an experiment",
        ),
        131000 => ("Something went wrong", "Something went wrong"),
        131008 => ("Required parameter is missing", "Required parameter is missing"),
        131009 => ("Parameter value is not valid", "Parameter value is not valid"),
        131016 => ("Service unavailable", "A service is temporarily unavailable."),
        131026 => (
            "Message undeliverable",
            "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number, the recipient has not accepted the new Terms of Service, or the recipient is using an old WhatsApp version.",
        ),
        131047 => (
            "Re-engagement message",
            "More than 24 hours have passed since the recipient last replied to the sender number.",
        ),
        131048 => (
            "Spam rate limit hit",
            "Message failed to send because there are restrictions on how many messages can be sent from this phone number.",
        ),
        131049 => (
            "This message was not delivered to maintain healthy ecosystem engagement.",
            "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        ),
        131050 => (
            "User has stopped marketing messages",
            "Unable to deliver the marketing message because the user has stopped marketing messages from this business.",
        ),
        131051 => ("Unsupported message type", "Message type is not currently supported."),
        131053 => ("Media upload error", "Unable to upload the media used in the message."),
        131056 => (
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
        ),
        131057 => ("Account in maintenance mode", "Business Account is in maintenance mode."),
        132000 => (
            "Number of parameters does not match the expected number of params",
            "The number of parameters does not match the template.",
        ),
        132001 => (
            "Template name does not exist in the translation",
            "The template does not exist in this language or is not approved.",
        ),
        132015 => ("Template is Paused", "The template is paused because of low quality."),
        132016 => ("Template is Disabled", "The template has been permanently disabled."),
        _ => ("Error", "Simulated error"),
    }
}

/// The HTTP status the simulator pairs with a code. Meta does not document one per code and
/// says to branch on the code; 130429 and 131056 are answered 400 here (see SIMULATOR.md).
fn http_status(code: i64) -> StatusCode {
    match code {
        0 | 190 => StatusCode::UNAUTHORIZED,
        131000 => StatusCode::INTERNAL_SERVER_ERROR,
        131016 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn trace_id() -> String {
    format!("A{:016x}", rand::random::<u64>())
}

/// A synchronous Graph API error.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub subcode: Option<i64>,
    pub title: String,
    pub details: String,
}

impl ApiError {
    pub(crate) fn code(code: i64) -> Self {
        let (title, details) = describe(code);
        Self { status: http_status(code), code, subcode: None, title: title.to_owned(), details: details.to_owned() }
    }

    /// Error 100 with Meta's `(#100) …` message and an explanation in `details`.
    pub(crate) fn invalid(details: impl Into<String>) -> Self {
        Self { details: details.into(), ..Self::code(100) }
    }

    #[must_use]
    pub(crate) fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    /// Graph's answer for an id that is not a known object.
    pub(crate) fn unknown_object(id: &str) -> Self {
        Self {
            subcode: Some(33),
            title: format!(
                "Unsupported request - method type: get. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
            ),
            ..Self::invalid("Unknown object id")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": format!("(#{}) {}", self.code, self.title),
            "type": "OAuthException",
            "code": self.code,
            "error_data": { "messaging_product": "whatsapp", "details": self.details },
            "fbtrace_id": trace_id(),
        });
        if let Some(sub) = self.subcode {
            error["error_subcode"] = json!(sub);
        }
        let mut resp = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token\"",
                ),
            );
        }
        resp
    }
}

/// The `errors[]` entry of a `failed` status webhook.
pub(crate) fn webhook_error(code: i64) -> Value {
    let (title, details) = describe(code);
    json!({
        "code": code,
        "title": title,
        "message": title,
        "error_data": { "details": details },
        "href": HREF,
    })
}
