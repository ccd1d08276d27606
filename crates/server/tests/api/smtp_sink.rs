//! A real SMTP server on a free port for the tests: it speaks EHLO, MAIL,
//! RCPT, DATA, RSET, NOOP and QUIT over TCP, records every message it
//! accepts, and can be told to answer 4xx or 5xx for an address, to drop
//! the connection in the middle of a message, or to hang after a number of
//! messages (the messages it then receives are recorded but never answered,
//! as a relay that got them while their sender died). It counts the
//! connections it accepts and the `RSET`s and `QUIT`s it receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: String,
    pub data: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut lines = head.split("\r\n").peekable();
        while let Some(l) = lines.next() {
            if l.to_ascii_lowercase().starts_with(&prefix) {
                let mut v = l[prefix.len()..].to_string();
                while let Some(next) = lines.peek().filter(|n| n.starts_with([' ', '\t'])) {
                    v.push_str(next.trim_start());
                    lines.next();
                }
                return Some(v);
            }
        }
        None
    }
}

/// What the sink answers for an address (by substring).
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(dead_code)] // the CLI's test binary includes the sink and uses no rule
pub enum Rule {
    /// `451` to RCPT, every time.
    Temporary,
    /// `550` to RCPT.
    Permanent,
    /// Drops the connection after the message's data, the first time only.
    DropOnce,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    rules: HashMap<String, Rule>,
    dropped: Vec<String>,
    /// Answer this many more messages, then hang.
    answer_budget: Option<usize>,
    hung: usize,
    /// Connections accepted, and `RSET`s and `QUIT`s received.
    connections: usize,
    resets: usize,
    quits: usize,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = SmtpSink {
            port,
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.serve(sock).await });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    #[allow(dead_code)]
    pub fn rule(&self, address_part: &str, rule: Rule) {
        self.state
            .lock()
            .unwrap()
            .rules
            .insert(address_part.into(), rule);
    }

    /// Answers `n` more messages, then receives but never answers.
    #[allow(dead_code)]
    pub fn hang_after(&self, n: usize) {
        self.state.lock().unwrap().answer_budget = Some(n);
    }

    /// Answers every message again.
    #[allow(dead_code)]
    pub fn answer_all(&self) {
        self.state.lock().unwrap().answer_budget = None;
    }

    /// Connections accepted, `RSET`s and `QUIT`s received so far.
    #[allow(dead_code)]
    pub fn conversations(&self) -> (usize, usize, usize) {
        let st = self.state.lock().unwrap();
        (st.connections, st.resets, st.quits)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits (without a clock) until `n` messages are hanging unanswered.
    #[allow(dead_code)] // not every test binary that includes the sink uses it
    pub async fn until_hung(&self, n: usize) {
        loop {
            let wait = self.changed.notified();
            if self.state.lock().unwrap().hung >= n {
                return;
            }
            wait.await;
        }
    }

    /// Waits (without a clock) until `n` messages have been received.
    #[allow(dead_code)] // used by the CLI's kill test
    pub async fn until_received(&self, n: usize) {
        loop {
            let wait = self.changed.notified();
            if self.state.lock().unwrap().received.len() >= n {
                return;
            }
            wait.await;
        }
    }

    async fn serve(&self, sock: tokio::net::TcpStream) {
        self.state.lock().unwrap().connections += 1;
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r);
        let mut rcpt = String::new();
        let mut refused = None;
        macro_rules! say {
            ($t:expr) => {
                if w.write_all($t.as_bytes()).await.is_err() {
                    return;
                }
            };
        }
        say!("220 sink.test ESMTP\r\n");
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let cmd = line.trim_end().to_ascii_uppercase();
            if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                say!("250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n");
            } else if cmd.starts_with("MAIL FROM") {
                rcpt.clear();
                refused = None;
                say!("250 2.1.0 OK\r\n");
            } else if cmd.starts_with("RCPT TO") {
                let addr = line.trim_end()[8..]
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_string();
                let rule = {
                    let st = self.state.lock().unwrap();
                    st.rules
                        .iter()
                        .find(|(k, _)| addr.contains(k.as_str()))
                        .map(|(_, r)| *r)
                };
                match rule {
                    Some(Rule::Temporary) => {
                        refused = Some(());
                        say!("451 4.3.0 try again later\r\n")
                    }
                    Some(Rule::Permanent) => {
                        refused = Some(());
                        say!("550 5.1.1 no such user\r\n")
                    }
                    _ => say!("250 2.1.5 OK\r\n"),
                }
                rcpt = addr;
            } else if cmd == "DATA" {
                if refused.is_some() {
                    say!("554 5.5.1 no valid recipients\r\n");
                    continue;
                }
                say!("354 go ahead\r\n");
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let drop_now = {
                    let mut st = self.state.lock().unwrap();
                    let drop_rule = st
                        .rules
                        .iter()
                        .any(|(k, r)| *r == Rule::DropOnce && rcpt.contains(k.as_str()));
                    if drop_rule && !st.dropped.contains(&rcpt) {
                        st.dropped.push(rcpt.clone());
                        true
                    } else {
                        false
                    }
                };
                if drop_now {
                    return; // the connection drops before the reply: not sent
                }
                let hang = {
                    let mut st = self.state.lock().unwrap();
                    st.received.push(Received {
                        rcpt: rcpt.clone(),
                        data,
                    });
                    match &mut st.answer_budget {
                        Some(0) => {
                            st.hung += 1;
                            true
                        }
                        Some(n) => {
                            *n -= 1;
                            false
                        }
                        None => false,
                    }
                };
                self.changed.notify_waiters();
                if hang {
                    std::future::pending::<()>().await;
                }
                say!("250 2.0.0 OK queued\r\n");
            } else if cmd.starts_with("QUIT") {
                self.state.lock().unwrap().quits += 1;
                say!("221 2.0.0 bye\r\n");
                return;
            } else if cmd.starts_with("RSET") {
                self.state.lock().unwrap().resets += 1;
                rcpt.clear();
                refused = None;
                say!("250 2.0.0 OK\r\n");
            } else if cmd.starts_with("NOOP") {
                say!("250 2.0.0 OK\r\n");
            } else {
                say!("502 5.5.2 not implemented\r\n");
            }
        }
    }
}
