//! `switchboard admin …` and `switchboard audit verify`: each prints one JSON object per result
//! on stdout, so scripts can read them.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use switchboard_app::auth::{NewApiKey, Principal};
use switchboard_app::clock::SystemClock;
use switchboard_app::keys::Keyring;
use switchboard_app::users::NewUser;
use switchboard_app::{App, AppConfig};
use switchboard_core::{Permission, TenantId};
use switchboard_storage::blobs::BlobStore;
use switchboard_storage::bus::InProcessBus;
use switchboard_storage::tenants;

use crate::cli::{AdminCommand, AuditCommand, SeedArgs, StorageArgs};
use crate::settings;

async fn cli_app(storage: &StorageArgs) -> anyhow::Result<Arc<App>> {
    cli_app_with(storage, AppConfig::default()).await
}

async fn cli_app_with(storage: &StorageArgs, config: AppConfig) -> anyhow::Result<Arc<App>> {
    let (db, master) = settings::open(storage).await?;
    App::new(
        db,
        Keyring::new(master),
        InProcessBus::new(),
        Arc::new(SystemClock),
        config,
        BlobStore::new(storage.data_dir.join("blobs")),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn existing_tenant(app: &App, id: &str) -> anyhow::Result<TenantId> {
    let tenant: TenantId = id.parse().context("--tenant must be a tenant id (UUID)")?;
    tenants::get(&mut app.db.read().await?.tenant(tenant)).await.with_context(|| format!("no tenant {tenant}"))?;
    Ok(tenant)
}

fn app_err(e: switchboard_app::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::CreateTenant { name, storage } => {
            let app = cli_app(&storage).await?;
            let t = app.create_tenant(&name).await.map_err(app_err)?;
            println!("{}", serde_json::json!({"tenant_id": t.id, "name": t.name}));
        }
        AdminCommand::CreateUser { tenant, email, role, password_file, storage } => {
            let app = cli_app(&storage).await?;
            let tenant = existing_tenant(&app, &tenant).await?;
            let password = match password_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    Some(text.lines().next().unwrap_or_default().to_owned())
                }
                None => None,
            };
            let role = role.parse().map_err(|e: switchboard_core::Invalid| anyhow::anyhow!("{}", e.message))?;
            let (user, generated) = app
                .create_user(&Principal::system(tenant, "cli"), NewUser { email, role, name: None, password })
                .await
                .map_err(app_err)?;
            let mut out = serde_json::json!({"user_id": user.id, "tenant_id": tenant, "role": user.role});
            if let Some(pw) = generated {
                out["password"] = serde_json::Value::String(pw);
            }
            println!("{out}");
        }
        AdminCommand::CreateApiKey { tenant, name, scopes, storage } => {
            let app = cli_app(&storage).await?;
            let tenant = existing_tenant(&app, &tenant).await?;
            let scopes =
                if scopes.is_empty() { Permission::ALL.iter().map(|p| p.scope().to_owned()).collect() } else { scopes };
            let (view, key) = app
                .create_api_key(&Principal::system(tenant, "cli"), NewApiKey { name, scopes })
                .await
                .map_err(app_err)?;
            println!(
                "{}",
                serde_json::json!({"api_key_id": view.id, "tenant_id": tenant, "key": key, "scopes": view.scopes})
            );
        }
        AdminCommand::DeleteTenant { tenant, tenant_purge_days, storage } => {
            let mut config = AppConfig::default();
            config.privacy.tenant_purge_grace_ms = i64::from(tenant_purge_days) * 24 * 3_600_000;
            let app = cli_app_with(&storage, config).await?;
            let tenant = existing_tenant(&app, &tenant).await?;
            let d = app
                .request_tenant_deletion(&Principal::system(tenant, "cli"), &tenant.to_string())
                .await
                .map_err(app_err)?;
            println!(
                "{}",
                serde_json::json!({"tenant_id": d.tenant_id, "status": d.status,
                    "purge_after": d.purge_after, "sessions_ended": d.sessions_ended,
                    "api_keys_revoked": d.api_keys_revoked})
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { tenant, storage } = cmd;
    let app = cli_app(&storage).await?;
    let tenants: Vec<TenantId> = match tenant {
        Some(t) => vec![existing_tenant(&app, &t).await?],
        None => tenants::list(&mut app.db.read().await?.platform())
            .await?
            .into_iter()
            .map(|t| TenantId::from_uuid(t.id))
            .collect(),
    };
    let mut intact = true;
    for t in tenants {
        let v = app.audit_verify_tenant(t).await.map_err(app_err)?;
        println!(
            "{}",
            serde_json::json!({"tenant_id": t, "intact": v.intact, "entries": v.entries,
            "first_broken_seq": v.first_broken_seq, "reason": v.reason})
        );
        if let (Some(seq), Some(reason)) = (v.first_broken_seq, &v.reason) {
            eprintln!("audit chain of tenant {t} is broken at entry {seq}: {reason}");
            intact = false;
        }
    }
    if !intact {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `switchboard seed`: progress and rows/s on stderr, the report as one JSON object on stdout.
pub async fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let app = cli_app(&args.storage).await?;
    let tenant = match &args.tenant {
        Some(id) => existing_tenant(&app, id).await?,
        None => app.create_tenant("Seeded").await.map_err(app_err)?.id,
    };
    let plan = switchboard_app::seed::SeedPlan {
        contacts: args.contacts,
        messages: args.messages,
        agents: args.agents,
        batch: args.batch,
    };
    let started = std::time::Instant::now();
    let per_contact = 1 + args.messages / args.contacts.max(1);
    let report = app
        .seed(tenant, plan, |what, done, of| {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "{what}: {done}/{of} ({:.0} contacts/s, ~{:.0} messages/s)",
                done as f64 / secs,
                (done * per_contact) as f64 / secs
            );
        })
        .await
        .map_err(app_err)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}
