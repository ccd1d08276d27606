//! A minimal server for trying the API by hand or from scripts while the
//! `neuracrm` CLI is not at hand:
//!
//! ```text
//! NEURACRM_JWT_SECRET=... cargo run -p neuracrm-server --example serve -- sqlite://crm.db 127.0.0.1:8080
//! ```

use neuracrm_server::{App, Settings, startup::shutdown_signal};
use neuracrm_store::{ConnectOptions, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args
        .next()
        .unwrap_or_else(|| "sqlite://neuracrm-example.db".into());
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut settings = Settings::for_database(&db);
    settings.bind = bind;
    settings.jwt_secret = std::env::var("NEURACRM_JWT_SECRET")
        .ok()
        .map(neuracrm_server::Secret::new);
    let store = Store::open(&db, &ConnectOptions::default()).await?;
    let app = App::build(settings, store).await?;
    println!("listening on http://{}", app.local_addr()?);
    app.run_until(shutdown_signal()).await?;
    Ok(())
}
