//! Non-message webhook fields (PROTOCOLS §1.9): template lifecycle, phone-number quality and
//! marketing preferences. Enumerated values (events, tiers, reasons) stay strings: Meta renames
//! and adds them, and old values must still parse.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::lenient;
use super::{Metadata, WaContact};

/// `message_template_status_update`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateStatusUpdate {
    /// `APPROVED`, `REJECTED`, `PENDING`, `PAUSED`, `DISABLED`, …
    pub event: String,
    /// A JSON number in this webhook, a string elsewhere; always a string here.
    #[serde(deserialize_with = "lenient::string")]
    pub message_template_id: String,
    #[serde(rename = "message_template_name", default)]
    pub name: Option<String>,
    /// As sent (`en_US` or `en-US`): compare with [`same_language`].
    #[serde(rename = "message_template_language", default)]
    pub language: Option<String>,
    #[serde(rename = "message_template_category", default)]
    pub category: Option<String>,
    /// `NONE`, `INVALID_FORMAT`, …, or null when scheduled for deletion.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub rejection_info: Option<RejectionInfo>,
    #[serde(default)]
    pub other_info: Option<OtherInfo>,
    #[serde(default)]
    pub disable_info: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RejectionInfo {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub recommendation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OtherInfo {
    /// `FIRST_PAUSE`, `SECOND_PAUSE`, `RATE_LIMITING_PAUSE`, `UNPAUSE`, `DISABLED`.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `message_template_quality_update`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateQualityUpdate {
    #[serde(deserialize_with = "lenient::string")]
    pub message_template_id: String,
    #[serde(rename = "message_template_name", default)]
    pub name: Option<String>,
    #[serde(rename = "message_template_language", default)]
    pub language: Option<String>,
    #[serde(default)]
    pub previous_quality_score: Option<String>,
    #[serde(default)]
    pub new_quality_score: Option<String>,
}

/// `template_category_update`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateCategoryUpdate {
    #[serde(deserialize_with = "lenient::string")]
    pub message_template_id: String,
    #[serde(rename = "message_template_name", default)]
    pub name: Option<String>,
    #[serde(rename = "message_template_language", default)]
    pub language: Option<String>,
    #[serde(default)]
    pub previous_category: Option<String>,
    #[serde(default)]
    pub new_category: Option<String>,
    #[serde(default)]
    pub correct_category: Option<String>,
}

/// `phone_number_quality_update`. Accepts both the current events (`ONBOARDING`,
/// `THROUGHPUT_UPGRADE`) and the pre-October-2025 ones (`FLAGGED`, `UPGRADE`, …), and tiers as
/// strings or numbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PhoneNumberQualityUpdate {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub display_phone_number: Option<String>,
    pub event: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub current_limit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub old_limit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub max_daily_conversations_per_business: Option<String>,
}

/// `user_preferences`: marketing opt-out / resume events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserPreferencesValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub user_preferences: Vec<UserPreference>,
}

#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct UserPreference {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// `marketing_messages`.
    #[serde(default)]
    pub category: Option<String>,
    /// `stop`, `resume`, `signup`, …
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub timestamp: Option<i64>,
}

impl fmt::Debug for UserPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPreference")
            .field("category", &self.category)
            .field("value", &self.value)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Whether two template language codes name the same language: Meta writes `en_US` when
/// creating and has shown `en-US` in webhooks.
#[must_use]
pub fn same_language(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().replace('-', "_").to_ascii_lowercase();
    norm(a) == norm(b)
}
