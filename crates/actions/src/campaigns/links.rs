//! The signed links of campaign messages. A link names its recipient row
//! and carries an HMAC of it under a key derived from the deployment's
//! secret, so it is never a guessable id: whoever holds the link may act for
//! that one recipient (unsubscribe with one click, RFC 8058), and nobody can
//! make one for another.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The key and the public address links are made with.
pub struct Links {
    key: [u8; 32],
    base: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Bytes of the HMAC a link carries (128 bits).
const TAG: usize = 16;

impl Links {
    /// Links under `public_url` (e.g. `https://crm.example.com`), signed
    /// with a key derived from `secret` (the deployment's JWT secret: the
    /// same on every instance, and never the key itself).
    pub fn new(secret: &[u8], public_url: &str) -> Links {
        let mut h = Sha256::new();
        h.update(b"neuracrm-campaign-links:");
        h.update(secret);
        Links {
            key: h.finalize().into(),
            base: public_url.trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, what: &str, recipient: i64, extra: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{what}:{recipient}:{extra}").as_bytes());
        mac
    }

    fn token(&self, what: &str, recipient: i64, extra: &str) -> String {
        let tag = self.mac(what, recipient, extra).finalize().into_bytes();
        let hex: String = tag[..TAG].iter().map(|b| format!("{b:02x}")).collect();
        format!("{recipient}.{hex}")
    }

    /// The one-click unsubscribe URL of a recipient.
    pub fn unsubscribe_url(&self, recipient: i64) -> String {
        format!(
            "{}/u/{}",
            self.base,
            self.token("unsubscribe", recipient, "")
        )
    }

    /// The open pixel's URL of a recipient.
    pub fn open_url(&self, recipient: i64) -> String {
        format!("{}/t/o/{}", self.base, self.token("open", recipient, ""))
    }

    /// The tracked form of a link to `url` in a recipient's message: it
    /// redirects to `url` only (the signature covers it).
    pub fn click_url(&self, recipient: i64, url: &str) -> String {
        let encoded: String = url
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!(
            "{}/t/c/{}?u={encoded}",
            self.base,
            self.token("click", recipient, url)
        )
    }

    /// The recipient an unsubscribe token names, when its signature holds.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<i64> {
        self.verify("unsubscribe", token, "")
    }

    /// The recipient an open token names, when its signature holds.
    pub fn verify_open(&self, token: &str) -> Option<i64> {
        self.verify("open", token, "")
    }

    /// The recipient a click token names, when it was made for `url`.
    pub fn verify_click(&self, token: &str, url: &str) -> Option<i64> {
        self.verify("click", token, url)
    }

    fn verify(&self, what: &str, token: &str, extra: &str) -> Option<i64> {
        let (id, hex) = token.split_once('.')?;
        let recipient: i64 = id.parse().ok()?;
        if hex.len() != TAG * 2 || !hex.is_ascii() {
            return None;
        }
        let tag: Vec<u8> = (0..TAG)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .ok()?;
        self.mac(what, recipient, extra)
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| recipient)
    }
}

/// A recipient's HTML with every `http(s)` link tracked (the unsubscribe
/// link aside) and the open pixel at the end of the body.
pub fn track(html: &str, recipient: i64, links: &Links) -> String {
    let mut out = String::with_capacity(html.len() + 512);
    let mut rest = html;
    let unsubscribe = format!("{}/u/", links.base);
    while let Some(i) = rest.find("href=") {
        let after = &rest[i + 5..];
        let quote = match after.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => {
                out.push_str(&rest[..i + 5]);
                rest = after;
                continue;
            }
        };
        let Some(end) = after[1..].find(quote) else {
            break;
        };
        let raw = &after[1..1 + end];
        let url = raw.replace("&amp;", "&");
        out.push_str(&rest[..i + 6]);
        if (url.starts_with("https://") || url.starts_with("http://"))
            && !url.starts_with(&unsubscribe)
        {
            out.push_str(&links.click_url(recipient, &url));
        } else {
            out.push_str(raw);
        }
        out.push(quote);
        rest = &after[2 + end..];
    }
    out.push_str(rest);
    let pixel = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
        links.open_url(recipient)
    );
    match out.rfind("</body>") {
        Some(at) => out.insert_str(at, &pixel),
        None => out.push_str(&pixel),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_html_are_tracked_and_a_pixel_added() {
        let l = Links::new(b"k", "https://crm.example.com");
        let html = format!(
            "<p><a href=\"https://x.example/?a=1&amp;b=2\">x</a> <a href='mailto:a@b.c'>m</a> <a href=\"{}\">u</a></p>",
            l.unsubscribe_url(3)
        );
        let t = track(&html, 3, &l);
        assert!(
            t.contains(&format!(
                "href=\"{}\"",
                l.click_url(3, "https://x.example/?a=1&b=2")
            )),
            "{t}"
        );
        assert!(t.contains("href='mailto:a@b.c'"), "{t}");
        assert!(
            t.contains(&l.unsubscribe_url(3)),
            "the unsubscribe link stays direct: {t}"
        );
        assert!(
            t.ends_with(&format!(
                "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
                l.open_url(3)
            )),
            "{t}"
        );
    }

    #[test]
    fn links_verify_only_as_signed() {
        let l = Links::new(b"secret", "https://crm.example.com/");
        let url = l.unsubscribe_url(42);
        let token = url.strip_prefix("https://crm.example.com/u/").unwrap();
        assert_eq!(l.verify_unsubscribe(token), Some(42));
        let forged = token.replacen("42.", "43.", 1);
        assert_eq!(l.verify_unsubscribe(&forged), None);
        assert_eq!(Links::new(b"other", "x").verify_unsubscribe(token), None);
        assert_eq!(l.verify_unsubscribe("42"), None);
        assert_eq!(l.verify_unsubscribe("42.zz"), None);
        let click = l.click_url(7, "https://x.example/a?b=1&c=2");
        let (path, query) = click.split_once('?').unwrap();
        let token = path.rsplit('/').next().unwrap();
        assert_eq!(query, "u=https%3A%2F%2Fx.example%2Fa%3Fb%3D1%26c%3D2");
        assert_eq!(
            l.verify_click(token, "https://x.example/a?b=1&c=2"),
            Some(7)
        );
        assert_eq!(
            l.verify_click(token, "https://evil.example/"),
            None,
            "only its own URL"
        );
        assert_eq!(
            l.verify_open(token),
            None,
            "a click token is not an open token"
        );
    }
}
