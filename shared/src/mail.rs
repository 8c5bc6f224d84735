//! Mail through lettre, always sent from the outbox (never inline in a request). With
//! SMTP configured a mail goes from the outbox row straight to the relay and nothing is
//! written to disk. The file transport (the default, for local use) is a spool of unsent
//! mail: one `.eml` per message under `<data dir>/mail` (0600, in a 0700 folder), written
//! atomically, for a local MTA to pick up. A mail is handed over when the MTA takes the
//! file away; one still there after `[mail] spool_retention_hours` is deleted unsent.
//!
//! A buyer's contact address is sealed when it is stored and opened only here, by the
//! mail sender. What a failed send leaves in the outbox's `last_error` (and the log) is a
//! category and an SMTP code, never the server's text, which often echoes the recipient.

use crate::config::{MailConfig, MailTransportKind};
use crate::crypto::{Sealed, Sealer};
use crate::db::AnyConnection;
use crate::outbox::{Deliver, DeliverError, OutboxRow};
use base64::Engine;
use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, SinglePart};
use lettre::{SmtpTransport, Transport};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const DESTINATION: &str = "mail";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// A seller's or manufacturer's business address.
    Address { address: String },
    /// A buyer's opt-in contact, sealed for the mail sender; `context` is the associated
    /// data it was sealed with.
    Sealed { key_id: String, data: String, context: String },
}

impl Recipient {
    pub fn sealed(sealed: &Sealed, context: &str) -> Recipient {
        Recipient::Sealed {
            key_id: sealed.key_id.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&sealed.bytes),
            context: context.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub to: Recipient,
    pub subject: String,
    pub body: String,
}

/// Queues a mail in the caller's transaction; the outbox dispatcher sends it.
pub fn queue(conn: &mut AnyConnection, ordering_key: &str, mail: &Mail) -> diesel::QueryResult<()> {
    let payload = serde_json::to_string(mail).expect("mail serializes");
    crate::outbox::enqueue(conn, DESTINATION, ordering_key, "mail", &payload).map(|_| ())
}

enum Backend {
    Spool { dir: PathBuf, retention: Duration },
    Smtp(SmtpTransport),
}

pub struct Mailer {
    from: Mailbox,
    backend: Backend,
    sealer: Option<Arc<Sealer>>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail setting: {0}")]
    Config(String),
}

/// Why a mail was not sent, in words that name no recipient and quote no server: this is
/// what the outbox keeps as `last_error` and what the log shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailFailure {
    #[error("mail payload unreadable")]
    Payload,
    #[error("sealed recipient does not open")]
    Sealed,
    #[error("recipient is not a mail address")]
    Recipient,
    #[error("message does not build")]
    Message,
    #[error("spool write failed: {0:?}")]
    Spool(std::io::ErrorKind),
    /// The relay refused: its reply code and whether it is final.
    #[error("smtp {} {code}", severity(.permanent))]
    Refused { code: String, permanent: bool },
    #[error("smtp {0}")]
    Transport(&'static str),
    #[error("mail task failed")]
    Task,
}

fn severity(permanent: &bool) -> &'static str {
    if *permanent {
        "permanent"
    } else {
        "transient"
    }
}

/// Reduces lettre's SMTP error, whose text carries the server's reply, to its code.
fn smtp_failure(e: &lettre::transport::smtp::Error) -> MailFailure {
    match e.status() {
        Some(code) => MailFailure::Refused { code: code.to_string(), permanent: e.is_permanent() },
        None if e.is_timeout() => MailFailure::Transport("timeout"),
        None if e.is_tls() => MailFailure::Transport("tls"),
        None if e.is_response() => MailFailure::Transport("unreadable reply"),
        None if e.is_client() => MailFailure::Transport("client"),
        None => MailFailure::Transport("connection"),
    }
}

impl Mailer {
    pub fn new(config: &MailConfig, data_dir: &Path, sealer: Option<Arc<Sealer>>) -> Result<Mailer, MailError> {
        let from: Mailbox = config.from.parse().map_err(|e| MailError::Config(format!("from: {e}")))?;
        let backend = match config.transport {
            MailTransportKind::File => {
                // Zero would delete every mail before a pickup could take it.
                if config.spool_retention_hours == 0 {
                    return Err(MailError::Config("spool_retention_hours must be at least 1".into()));
                }
                let dir = data_dir.join("mail");
                crate::files::create_own_dir(&dir).map_err(|e| MailError::Config(format!("{}: {e}", dir.display())))?;
                let retention = Duration::from_secs(config.spool_retention_hours.saturating_mul(3600));
                let backend = Backend::Spool { dir, retention };
                backend.tidy();
                backend
            }
            MailTransportKind::Smtp => {
                let url = config.smtp_url.as_deref().ok_or_else(|| MailError::Config("smtp_url is required".into()))?;
                Backend::Smtp(
                    SmtpTransport::from_url(url).map_err(|e| MailError::Config(format!("smtp_url: {e}")))?.build(),
                )
            }
        };
        Ok(Mailer { from, backend, sealer })
    }

    fn recipient(&self, to: &Recipient) -> Result<Mailbox, MailFailure> {
        let address = match to {
            Recipient::Address { address } => address.clone(),
            Recipient::Sealed { key_id, data, context } => {
                let sealer = self.sealer.as_ref().ok_or(MailFailure::Sealed)?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| MailFailure::Sealed)?;
                let sealed = Sealed { key_id: key_id.clone(), bytes };
                let opened = sealer.open(&sealed, context.as_bytes()).map_err(|_| MailFailure::Sealed)?;
                String::from_utf8(opened).map_err(|_| MailFailure::Recipient)?
            }
        };
        address.parse().map_err(|_| MailFailure::Recipient)
    }

    /// The standard headers receiving servers and spam filters look for: a `Message-ID`
    /// under the sender's own domain (not this machine's hostname, which says where the
    /// service runs), a `Date`, `MIME-Version: 1.0`, and a text/plain UTF-8 part, encoded
    /// as lettre sees fit for the text.
    fn message(&self, mail: &Mail) -> Result<lettre::Message, MailFailure> {
        let id = format!("<{}@{}>", crate::ids::random_hex128(), self.from.email.domain());
        lettre::Message::builder()
            .from(self.from.clone())
            .to(self.recipient(&mail.to)?)
            .subject(mail.subject.clone())
            .message_id(Some(id))
            .date_now()
            .singlepart(SinglePart::plain(mail.body.clone()))
            .map_err(|_| MailFailure::Message)
    }

    fn send_blocking(&self, mail: &Mail) -> Result<(), MailFailure> {
        let message = self.message(mail)?;
        match &self.backend {
            Backend::Spool { dir, .. } => {
                let path = dir.join(format!("{}.eml", crate::ids::random_hex128()));
                crate::files::write_atomic(&path, &message.formatted()).map_err(|e| MailFailure::Spool(e.kind()))
            }
            Backend::Smtp(t) => t.send(&message).map(|_| ()).map_err(|e| smtp_failure(&e)),
        }
    }
}

impl Backend {
    fn tidy(&self) {
        if let Backend::Spool { dir, retention } = self {
            match sweep_spool(dir, *retention) {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "deleted spooled mail nobody picked up"),
                Err(e) => tracing::warn!(error = %e.kind(), "sweeping the mail spool failed"),
            }
        }
    }
}

/// Deletes what has lain in the spool longer than `retention`: unsent mail nobody picked
/// up, and temporaries a crash left half written. Returns how many files went.
pub fn sweep_spool(dir: &Path, retention: Duration) -> std::io::Result<usize> {
    let mut deleted = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            continue;
        }
        let age = meta.modified()?.elapsed().unwrap_or_default();
        if age >= retention {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}

/// The dispatcher's route for `mail`.
pub struct MailRoute(pub Arc<Mailer>);

impl Deliver for MailRoute {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>> {
        Box::pin(async move {
            let mail: Mail = serde_json::from_str(&row.payload).map_err(|_| MailFailure::Payload)?;
            let mailer = self.0.clone();
            let sent = tokio::task::spawn_blocking(move || mailer.send_blocking(&mail)).await;
            Ok(sent.map_err(|_| MailFailure::Task)??)
        })
    }

    fn tidy(&self) {
        self.0.backend.tidy();
    }
}

/// A syntactically valid address of reasonable length (the SMTP server has the last word).
pub fn valid_address(address: &str) -> bool {
    address.len() <= 254 && address.parse::<lettre::Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutboxConfig;
    use crate::db::{Db, DbError};
    use crate::outbox::Dispatcher;
    use crate::schema::outbox;
    use diesel::prelude::*;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::PermissionsExt;

    const BUYER: &str = "buyer@example.org";

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn buyer_mail(sealer: &Sealer) -> Mail {
        let sealed = sealer.seal(BUYER.as_bytes(), b"ord_x");
        Mail { to: Recipient::sealed(&sealed, "ord_x"), subject: "Approved".into(), body: "Order ord_x".into() }
    }

    #[test]
    fn the_spool_holds_owner_only_files_written_whole_and_opens_sealed_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Arc::new(Sealer::ephemeral());
        let mailer = Mailer::new(&MailConfig::default(), dir.path(), Some(sealer.clone())).unwrap();
        mailer.send_blocking(&buyer_mail(&sealer)).unwrap();
        let spool = dir.path().join("mail");
        assert_eq!(mode(&spool), 0o700);
        let files: Vec<PathBuf> = std::fs::read_dir(&spool).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
        assert!(files[0].extension().is_some_and(|e| e == "eml"), "{files:?}");
        assert_eq!(mode(&files[0]), 0o600);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains(&format!("To: {BUYER}")));
        assert!(text.contains("Subject: Approved"));
    }

    #[test]
    fn spooled_mail_nobody_picked_up_is_deleted_after_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let config = MailConfig { spool_retention_hours: 24, ..MailConfig::default() };
        let sealer = Arc::new(Sealer::ephemeral());
        let mailer = Mailer::new(&config, dir.path(), Some(sealer.clone())).unwrap();
        mailer.send_blocking(&buyer_mail(&sealer)).unwrap();
        mailer.send_blocking(&buyer_mail(&sealer)).unwrap();
        let spool = dir.path().join("mail");
        let files: Vec<PathBuf> = std::fs::read_dir(&spool).unwrap().map(|e| e.unwrap().path()).collect();
        let day_ago = std::time::SystemTime::now() - Duration::from_secs(25 * 3600);
        std::fs::File::options().write(true).open(&files[0]).unwrap().set_modified(day_ago).unwrap();

        // The sweep the dispatcher runs, and the one at start, delete only the old one.
        MailRoute(Arc::new(mailer)).tidy();
        assert!(!files[0].exists(), "a mail older than the retention is gone");
        assert!(files[1].exists(), "a fresh one waits for the MTA");
        Mailer::new(&config, dir.path(), None).unwrap();
        assert!(files[1].exists());
        assert_eq!(sweep_spool(&spool, Duration::ZERO).unwrap(), 1);
    }

    /// A relay that answers as real servers do and hands back the raw DATA of each
    /// message; with `refuse_recipients`, it refuses every recipient with a reply quoting
    /// the address.
    fn relay(refuse_recipients: bool) -> (String, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let sent = sent.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let _ = stream.write_all(b"220 relay.test ESMTP\r\n");
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 {
                        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "RCPT" if refuse_recipients => {
                                format!("550 5.1.1 <{BUYER}>: Recipient address rejected\r\n")
                            }
                            "DATA" => {
                                let _ = stream.write_all(b"354 go ahead\r\n");
                                let mut data = String::new();
                                line.clear();
                                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != ".\r\n" {
                                    data.push_str(&line);
                                    line.clear();
                                }
                                let _ = sent.send(data);
                                "250 queued\r\n".to_string()
                            }
                            "QUIT" => "221 bye\r\n".to_string(),
                            _ => "250 ok\r\n".to_string(),
                        };
                        let _ = stream.write_all(reply.as_bytes());
                        if verb == "QUIT" {
                            return;
                        }
                        line.clear();
                    }
                });
            }
        });
        (url, received)
    }

    #[test]
    fn mail_through_smtp_carries_the_standard_headers_and_a_utf8_text_part() {
        let (url, received) = relay(false);
        let dir = tempfile::tempdir().unwrap();
        let config = MailConfig {
            transport: MailTransportKind::Smtp,
            smtp_url: Some(url),
            from: "Marketplace <noreply@shop.example.net>".into(),
            ..MailConfig::default()
        };
        let mailer = Mailer::new(&config, dir.path(), None).unwrap();
        let mail = Mail {
            to: Recipient::Address { address: "seller@example.org".into() },
            subject: "Bestellung bestätigt".into(),
            body: "Grüße: order ord_x is approved.".into(),
        };
        mailer.send_blocking(&mail).unwrap();
        let data = received.recv_timeout(Duration::from_secs(10)).unwrap();
        let (head, body) = data.split_once("\r\n\r\n").expect("headers, then a blank line");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v))
                .unwrap_or_else(|| panic!("no {name} in\n{head}"))
        };
        let id = header("Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@shop.example.net>"), "under the sender's domain: {id}");
        chrono::DateTime::parse_from_rfc2822(header("Date")).expect("an RFC 5322 date");
        assert_eq!(header("MIME-Version"), "1.0");
        assert_eq!(header("Content-Type"), "text/plain; charset=utf-8");
        assert!(header("Content-Transfer-Encoding").len() > 1);
        assert!(!body.trim().is_empty());
        // Two mails never share an id.
        mailer.send_blocking(&mail).unwrap();
        let again = received.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(!again.contains(id), "{again}");
    }

    #[tokio::test]
    async fn a_refused_recipient_leaves_a_code_in_last_error_never_the_address() {
        let (url, _) = relay(true);
        // The premise: lettre's own error text carries the server's reply, address and all.
        let message = lettre::Message::builder()
            .from("a@example.org".parse().unwrap())
            .to(BUYER.parse().unwrap())
            .body(String::from("x"))
            .unwrap();
        let raw = SmtpTransport::from_url(&url).unwrap().build().send(&message).unwrap_err();
        assert!(raw.to_string().contains(BUYER), "{raw}");

        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("o.db").to_str().unwrap(), 2, crate::outbox::MIGRATIONS).unwrap();
        let sealer = Arc::new(Sealer::ephemeral());
        let mail = buyer_mail(&sealer);
        db.write_blocking(move |c| queue(c, "buyer/ord_x", &mail).map_err(DbError::from)).unwrap();

        let config = MailConfig { transport: MailTransportKind::Smtp, smtp_url: Some(url), ..MailConfig::default() };
        let mailer = Mailer::new(&config, dir.path(), Some(sealer)).unwrap();
        let d = Dispatcher::new(db.clone(), OutboxConfig::default())
            .route(DESTINATION, Arc::new(MailRoute(Arc::new(mailer))));
        assert_eq!(d.run_once().await.unwrap(), 1);
        let last_error: Option<String> =
            db.read_blocking(|c| outbox::table.select(outbox::last_error).first(c).map_err(DbError::from)).unwrap();
        assert_eq!(last_error.as_deref(), Some("smtp permanent 550"));
        assert!(!dir.path().join("mail").exists(), "with SMTP nothing is spooled");
    }

    #[test]
    fn failures_name_no_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&MailConfig::default(), dir.path(), Some(Arc::new(Sealer::ephemeral()))).unwrap();
        let plain = |address: &str| Mail {
            to: Recipient::Address { address: address.into() },
            subject: "s".into(),
            body: "b".into(),
        };
        let bad = "not an address buyer@example.org";
        let failure = mailer.send_blocking(&plain(bad)).unwrap_err();
        assert_eq!(failure, MailFailure::Recipient);
        // A buyer's sealed address under another key does not open, and is not shown.
        let other = Sealer::ephemeral();
        assert_eq!(mailer.send_blocking(&buyer_mail(&other)).unwrap_err(), MailFailure::Sealed);
        assert!(!DeliverError::from(failure).message.contains("example.org"));
    }

    #[test]
    fn address_validation() {
        assert!(valid_address("seller@example.org"));
        assert!(!valid_address("not an address"));
    }
}
