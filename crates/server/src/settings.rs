//! Turning command-line settings into live resources: the data directory, the master key and
//! the migrated database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use switchboard_privacy::MasterKey;
use switchboard_storage::{Db, DbOptions};

use crate::cli::StorageArgs;

/// A secret from `NAME` or from the file named by `NAME_FILE` (Docker and Kubernetes
/// secrets); setting both is an error.
pub fn secret_from_env(name: &str) -> anyhow::Result<Option<String>> {
    let direct = std::env::var(name).ok().filter(|v| !v.is_empty());
    let file = std::env::var(format!("{name}_FILE")).ok().filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => bail!("set {name} or {name}_FILE, not both"),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => {
            let v = std::fs::read_to_string(&path).with_context(|| format!("reading {name}_FILE"))?;
            Ok(Some(v.trim_end_matches(['\r', '\n']).to_owned()))
        }
        (None, None) => Ok(None),
    }
}

#[must_use]
pub fn database_url(args: &StorageArgs) -> String {
    args.database_url.clone().unwrap_or_else(|| format!("sqlite:{}", args.data_dir.join("switchboard.db").display()))
}

/// Reads the master key, or creates `DATA_DIR/master.key` (mode 0600) on first start.
pub fn master_key(args: &StorageArgs) -> anyhow::Result<MasterKey> {
    let (path, may_create): (PathBuf, bool) = match &args.master_key_file {
        Some(p) => (p.clone(), false),
        None => (args.data_dir.join("master.key"), true),
    };
    if path.exists() {
        let contents =
            std::fs::read_to_string(&path).with_context(|| format!("reading master key {}", path.display()))?;
        return MasterKey::from_file_contents(&contents)
            .map_err(|_| anyhow::anyhow!("master key file {} is not 64 hex characters", path.display()));
    }
    if !may_create {
        bail!("master key file {} does not exist", path.display());
    }
    let key = MasterKey::generate();
    write_private(&path, &key.to_file_contents())?;
    tracing::warn!(path = %path.display(), "created a new master key; back it up: without it the data cannot be read");
    Ok(key)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Connects and migrates. The data directory is created when missing.
pub async fn open_db(args: &StorageArgs) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let url = database_url(args);
    let opts = DbOptions { max_connections: args.db_max_connections, ..DbOptions::default() };
    let db = Db::connect(&url, &opts).await.context("connecting to the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// The master key and database together, refusing a key that did not wrap this database's
/// tenant keys (starting with the wrong key would make every sealed value unreadable).
pub async fn open(args: &StorageArgs) -> anyhow::Result<(Db, MasterKey)> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let key = master_key(args)?;
    let db = open_db(args).await?;
    let foreign =
        switchboard_storage::keys::count_foreign_master(&mut db.read().await?.platform(), key.id().as_uuid()).await?;
    if foreign > 0 {
        bail!(
            "this database's keys were wrapped by a different master key; point SWITCHBOARD_MASTER_KEY_FILE at the right one"
        );
    }
    Ok((db, key))
}

pub async fn migrate(args: &StorageArgs) -> anyhow::Result<ExitCode> {
    open_db(args).await?;
    println!("{}", serde_json::json!({"migrated": true}));
    Ok(ExitCode::SUCCESS)
}
