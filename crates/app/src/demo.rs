//! The demo tenant behind `switchboard serve --demo`: created once, found again on later
//! starts, with a fresh API key printed each time.

use switchboard_core::{Permission, Role, TenantId};
use switchboard_storage::tenants;

use crate::auth::{NewApiKey, Principal};
use crate::users::NewUser;
use crate::{App, AppResult};

pub const DEMO_TENANT: &str = "Switchboard Demo";
pub const DEMO_EMAIL: &str = "owner@demo.switchboard.test";
/// Demo only: printed at start so a newcomer can log in. Never used outside `--demo`.
pub const DEMO_PASSWORD: &str = "switchboard-demo";

pub struct DemoSeed {
    pub tenant: TenantId,
    pub email: &'static str,
    pub password: &'static str,
    pub api_key: String,
}

impl App {
    pub async fn seed_demo(&self) -> AppResult<DemoSeed> {
        let existing = tenants::find_by_name(&mut self.db.read().await?.platform(), DEMO_TENANT).await?;
        let tenant = match existing {
            Some(t) => TenantId::from_uuid(t.id),
            None => {
                let t = self.create_tenant(DEMO_TENANT).await?;
                let system = Principal::system(t.id, "demo");
                self.create_user(
                    &system,
                    NewUser {
                        email: DEMO_EMAIL.into(),
                        role: Role::Owner,
                        name: Some("Demo Owner".into()),
                        password: Some(DEMO_PASSWORD.into()),
                    },
                )
                .await?;
                t.id
            }
        };
        let system = Principal::system(tenant, "demo");
        let (_, api_key) = self
            .create_api_key(
                &system,
                NewApiKey {
                    name: "demo".into(),
                    scopes: Permission::ALL.iter().map(|p| p.scope().to_owned()).collect(),
                },
            )
            .await?;
        Ok(DemoSeed { tenant, email: DEMO_EMAIL, password: DEMO_PASSWORD, api_key })
    }
}
