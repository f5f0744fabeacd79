//! Identifiers. Every entity has its own newtype so a `ContactId` cannot be passed where a
//! `TenantId` is expected. All ids are UUIDv7: time-ordered, so they index well, and random
//! enough that they cannot be enumerated across tenants.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            #[must_use]
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A customer organisation using Switchboard. Every tenant-owned row carries one.
    TenantId
);
id_type!(
    /// A person who logs in: an owner, admin, supervisor, agent or analyst of one tenant.
    UserId
);
id_type!(
    /// A business's customer: the data subject whose personal data we seal.
    ContactId
);
id_type!(ApiKeyId);
id_type!(ConversationId);
id_type!(MessageId);
id_type!(ChannelId);
id_type!(JobId);
id_type!(
    /// The key id written into every sealed envelope, so keys can rotate.
    KeyId
);

impl TenantId {
    /// Owner of platform-wide rows (periodic jobs that span tenants). Never a real tenant.
    pub const PLATFORM: TenantId = TenantId(Uuid::nil());
}
