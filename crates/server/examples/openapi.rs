//! Prints the API's OpenAPI document (the one served at `/api/openapi.json`)
//! without starting a server or opening a database:
//!
//! ```text
//! cargo run -q -p neuracrm-server --example openapi > openapi.json
//! ```
//!
//! `scripts/openapi-compare.sh` builds this at two revisions and compares the
//! documents.

fn main() {
    let doc = neuracrm_server::api::api().1;
    println!(
        "{}",
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises")
    );
}
