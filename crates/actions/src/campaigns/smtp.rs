//! The sender's SMTP connections: opened here, with `TCP_NODELAY`, handed to
//! lettre for the protocol, and kept in a pool of `smtp.connections`.
//!
//! Why not lettre's own pool: lettre writes a message's body and its closing
//! `.` in two writes, and its sockets keep Nagle's algorithm on, so the `.`
//! waited for the body's acknowledgement, which receivers delay (Linux: up
//! to 40 ms): 40 ms per message per connection, 47 messages/s over four.
//! Its pool also sent a `NOOP` (a round trip) before every message.
//!
//! One message is one transaction (`MAIL`, `RCPT`, `DATA`, the message) on a
//! connection taken from the pool, given back after it: a negative reply
//! leaves the connection usable once `RSET` is answered; a network error or
//! no answer within `smtp.timeout_secs` drops it (the next message opens a
//! new one). A connection idle for a while is checked with `RSET` before it
//! is used again, and [`Pool::close`] says `QUIT` to the idle ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

/// Why a message was not accepted: refused for good (a 5xx reply), or not
/// now (a 4xx reply, a network error, a timeout: try again later).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A 5xx reply.
    Permanent(String),
    /// A 4xx reply, or the conversation failed.
    Temporary(String),
}

impl Failure {
    /// The reply or error, as the send log records it.
    pub fn reply(&self) -> &str {
        match self {
            Failure::Permanent(r) | Failure::Temporary(r) => r,
        }
    }
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(e: lettre::transport::smtp::Error) -> Failure {
        if e.is_permanent() {
            Failure::Permanent(e.to_string())
        } else {
            Failure::Temporary(e.to_string())
        }
    }
}

/// How the connection is encrypted.
#[derive(Clone)]
enum Encryption {
    /// `smtp://`: STARTTLS when the server offers it.
    Opportunistic(TlsParameters),
    /// `smtp://...?tls=required`: STARTTLS or no connection.
    Required(TlsParameters),
    /// `smtps://`: TLS from the first byte.
    Wrapper(TlsConnector),
}

/// Where and how to connect: `smtp.url` read once. Its password is never
/// logged, and no error quotes it.
struct Relay {
    host: String,
    port: u16,
    encryption: Encryption,
    hello: ClientId,
    credentials: Option<Credentials>,
    timeout: Duration,
}

/// A connection idle for longer than this is checked (`RSET`) before a
/// message goes over it; servers close idle connections after a few minutes.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);

impl Relay {
    /// `smtp://[user:password@]host[:port][/ehlo-name][?tls=required|opportunistic]`
    /// (port 587) or `smtps://...` (port 465).
    fn parse(url: &str, timeout: Duration) -> Result<Relay, String> {
        let invalid =
            || "smtp.url is not a valid smtp://host:port or smtps://host:port URL".to_string();
        let url = url::Url::parse(url).map_err(|_| invalid())?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(invalid)?
            .trim_matches(['[', ']'])
            .to_string();
        let tls = || TlsParameters::new(host.clone()).map_err(|_| invalid());
        let tls_query = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v);
        let (encryption, port) = match (url.scheme(), tls_query.as_deref()) {
            ("smtp", None | Some("opportunistic")) => (Encryption::Opportunistic(tls()?), 587),
            ("smtp", Some("required")) => (Encryption::Required(tls()?), 587),
            ("smtps", _) => (Encryption::Wrapper(tls_connector()), 465),
            _ => return Err(invalid()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "smtp.url's user or password is not UTF-8".to_string())
        };
        let credentials = match url.password() {
            Some(p) => Some(Credentials::new(decode(url.username())?, decode(p)?)),
            None => None,
        };
        let name = url.path().trim_matches('/');
        Ok(Relay {
            port: url.port().unwrap_or(port),
            host,
            encryption,
            hello: if name.is_empty() {
                ClientId::default()
            } else {
                ClientId::Domain(name.to_string())
            },
            credentials,
            timeout,
        })
    }

    /// A new connection: TCP with `TCP_NODELAY`, TLS as the URL says, the
    /// greeting and `EHLO`, then `AUTH` when the URL has credentials.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let opened = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| Failure::Temporary(format!("connecting to the SMTP server: {e}")))?;
            tcp.set_nodelay(true)
                .map_err(|e| Failure::Temporary(format!("setting TCP_NODELAY: {e}")))?;
            let stream: Box<dyn AsyncTokioStream> = match &self.encryption {
                Encryption::Wrapper(tls) => {
                    let name = rustls::pki_types::ServerName::try_from(self.host.clone()).map_err(
                        |_| Failure::Permanent("smtp.url's host is not a valid TLS name".into()),
                    )?;
                    let stream = tls.connect(name, tcp).await.map_err(|e| {
                        Failure::Temporary(format!("TLS with the SMTP server: {e}"))
                    })?;
                    Box::new(Tls(stream))
                }
                _ => Box::new(tcp),
            };
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
            match &self.encryption {
                Encryption::Opportunistic(tls) if conn.can_starttls() => {
                    conn.starttls(tls.clone(), &self.hello).await?
                }
                Encryption::Required(tls) => conn.starttls(tls.clone(), &self.hello).await?,
                _ => {}
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials).await?;
            }
            Ok(conn)
        };
        tokio::time::timeout(self.timeout, opened)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::Temporary(
                    "the SMTP server did not answer in time".into(),
                ))
            })
    }
}

/// TLS from the first byte (`smtps://`), as lettre sets up rustls: ring,
/// TLS 1.2 and 1.3, the webpki roots.
fn tls_connector() -> TlsConnector {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(rustls::ALL_VERSIONS)
    .expect("ring supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A TLS stream lettre can take (it wants its `AsyncTokioStream`).
struct Tls(tokio_rustls::client::TlsStream<TcpStream>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for Tls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// At most `size` connections, each carrying one message at a time.
pub struct Pool {
    relay: Relay,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    slots: Semaphore,
}

impl Pool {
    /// A pool of `size` connections to the relay of `url` (none is opened
    /// yet). The error never quotes the URL.
    pub fn new(url: &str, size: u32, timeout: Duration) -> Result<Pool, String> {
        Ok(Pool {
            relay: Relay::parse(url, timeout)?,
            idle: std::sync::Mutex::default(),
            slots: Semaphore::new(size.max(1) as usize),
        })
    }

    /// Sends one message over a pooled connection (a new one when none is
    /// idle); the server's reply to its end.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, Failure> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut conn = match self.idle_connection().await {
            Some(conn) => conn,
            None => self.relay.connect().await?,
        };
        match tokio::time::timeout(
            self.relay.timeout,
            transaction(&mut conn, envelope, message),
        )
        .await
        {
            Ok(Ok(reply)) => {
                self.give_back(conn);
                Ok(reply)
            }
            Ok(Err(e)) => {
                // A refusal ends the transaction, not the connection.
                if (e.is_permanent() || e.is_transient()) && self.reset(&mut conn).await {
                    self.give_back(conn);
                }
                Err(e.into())
            }
            // The connection is in an unknown state: dropped.
            Err(_) => Err(Failure::Temporary(
                "the SMTP server did not answer in time".into(),
            )),
        }
    }

    /// Says `QUIT` to the idle connections and closes them.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().expect("not poisoned"));
        for (mut conn, _) in idle {
            let _ = tokio::time::timeout(self.relay.timeout, conn.quit()).await;
        }
    }

    /// An idle connection, checked with `RSET` when it has been idle long.
    async fn idle_connection(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().expect("not poisoned").pop()?;
            if since.elapsed() < CHECK_AFTER_IDLE || self.reset(&mut conn).await {
                return Some(conn);
            }
        }
    }

    /// `RSET`, answered in time: the connection can take a message.
    async fn reset(&self, conn: &mut AsyncSmtpConnection) -> bool {
        matches!(
            tokio::time::timeout(self.relay.timeout, conn.command(Rset)).await,
            Ok(Ok(_))
        )
    }

    fn give_back(&self, conn: AsyncSmtpConnection) {
        if !conn.has_broken() {
            self.idle
                .lock()
                .expect("not poisoned")
                .push((conn, Instant::now()));
        }
    }
}

/// One message's transaction. Unlike lettre's `send`, a refusal does not
/// close the connection.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Response, lettre::transport::smtp::Error> {
    let mut options = Vec::new();
    let ascii = |a: &Address| AsRef::<str>::as_ref(a).is_ascii();
    if !envelope.to().iter().chain(envelope.from()).all(ascii) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    conn.command(Data).await?;
    conn.message(message).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(url: &str) -> Result<Relay, String> {
        Relay::parse(url, Duration::from_secs(1))
    }

    #[test]
    fn the_url_gives_the_port_the_encryption_and_the_ehlo_name() {
        let r = relay("smtp://relay.example.com").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("relay.example.com", 587));
        assert!(matches!(r.encryption, Encryption::Opportunistic(_)));
        assert!(r.credentials.is_none());
        let r =
            relay("smtp://u:p%40ss@relay.example.com:2525/crm.example.com?tls=required").unwrap();
        assert_eq!(r.port, 2525);
        assert!(matches!(r.encryption, Encryption::Required(_)));
        assert!(r.credentials.is_some());
        assert_eq!(r.hello, ClientId::Domain("crm.example.com".into()));
        let r = relay("smtps://relay.example.com").unwrap();
        assert_eq!(r.port, 465);
        assert!(matches!(r.encryption, Encryption::Wrapper(_)));
    }

    #[test]
    fn a_bad_url_is_refused_without_quoting_it() {
        for url in [
            "http://u:secret@relay.example.com",
            "smtp://u:secret@relay.example.com?tls=sometimes",
            "not a url secret",
            "smtp://u:secret@",
        ] {
            let e = relay(url).err().expect(url);
            assert!(!e.contains("secret"), "{e}");
            assert!(e.contains("smtp.url"), "{e}");
        }
    }
}
