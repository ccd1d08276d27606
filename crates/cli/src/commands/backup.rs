//! `backup`: a consistent copy of a SQLite database taken while servers go on
//! writing to it; for PostgreSQL, the `pg_dump` command to run instead.

use anyhow::{Context, Result};
use neuracrm_server::Settings;
use neuracrm_store::backup::{backup_url, pg_dump_command};
use neuracrm_store::db::redact_url;

use crate::cli::BackupArgs;

pub async fn backup(settings: Settings, a: BackupArgs) -> Result<()> {
    let url = &settings.database_url;
    let target = redact_url(url);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let cmd = pg_dump_command(url, &a.out)?;
        println!(
            "{target} is a PostgreSQL database, which `neuracrm backup` does not copy: \
             back it up with pg_dump (it asks for the password, or reads PGPASSWORD or \
             ~/.pgpass):"
        );
        println!("  {cmd}");
        return Ok(());
    }
    let copy = backup_url(url, &a.out)
        .await
        .context("no backup was taken")?;
    println!(
        "backed up {target} to {} ({:.1} MB in {:.1} s)",
        copy.path.display(),
        copy.bytes as f64 / 1e6,
        copy.seconds
    );
    Ok(())
}
