//! Mail through lettre, always sent from the outbox (never inline in a request): a file
//! transport by default (one `.eml` per message under `<data dir>/mail`), SMTP with TLS
//! when configured. A buyer's contact address is sealed when it is stored and opened only
//! here, by the mail sender.

use crate::config::{MailConfig, MailTransportKind};
use crate::crypto::{Sealed, Sealer};
use crate::db::AnyConnection;
use crate::outbox::{Deliver, DeliverError, OutboxRow};
use base64::Engine;
use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::{FileTransport, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

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
    File(FileTransport),
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

impl Mailer {
    pub fn new(config: &MailConfig, data_dir: &Path, sealer: Option<Arc<Sealer>>) -> Result<Mailer, MailError> {
        let from: Mailbox = config.from.parse().map_err(|e| MailError::Config(format!("from: {e}")))?;
        let backend = match config.transport {
            MailTransportKind::File => {
                let dir = data_dir.join("mail");
                std::fs::create_dir_all(&dir).map_err(|e| MailError::Config(format!("{}: {e}", dir.display())))?;
                Backend::File(FileTransport::new(dir))
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

    fn recipient(&self, to: &Recipient) -> Result<Mailbox, DeliverError> {
        let address = match to {
            Recipient::Address { address } => address.clone(),
            Recipient::Sealed { key_id, data, context } => {
                let sealer = self.sealer.as_ref().ok_or("no key to open a sealed recipient")?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
                let sealed = Sealed { key_id: key_id.clone(), bytes };
                String::from_utf8(sealer.open(&sealed, context.as_bytes())?)?
            }
        };
        Ok(address.parse()?)
    }

    fn send_blocking(&self, mail: &Mail) -> Result<(), DeliverError> {
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(self.recipient(&mail.to)?)
            .subject(mail.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match &self.backend {
            Backend::File(t) => t.send(&message).map(|_| ()).map_err(DeliverError::from),
            Backend::Smtp(t) => t.send(&message).map(|_| ()).map_err(DeliverError::from),
        }
    }
}

/// The dispatcher's route for `mail`.
pub struct MailRoute(pub Arc<Mailer>);

impl Deliver for MailRoute {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>> {
        Box::pin(async move {
            let mail: Mail = serde_json::from_str(&row.payload)?;
            let mailer = self.0.clone();
            tokio::task::spawn_blocking(move || mailer.send_blocking(&mail)).await?
        })
    }
}

/// A syntactically valid address of reasonable length (the SMTP server has the last word).
pub fn valid_address(address: &str) -> bool {
    address.len() <= 254 && address.parse::<lettre::Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_transport_writes_and_opens_sealed_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Arc::new(Sealer::ephemeral());
        let mailer = Mailer::new(&MailConfig::default(), dir.path(), Some(sealer.clone())).unwrap();
        let sealed = sealer.seal(b"buyer@example.org", b"ord_x");
        mailer
            .send_blocking(&Mail {
                to: Recipient::sealed(&sealed, "ord_x"),
                subject: "Approved".into(),
                body: "Order ord_x".into(),
            })
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("To: buyer@example.org"));
        assert!(text.contains("Subject: Approved"));
    }

    #[test]
    fn address_validation() {
        assert!(valid_address("seller@example.org"));
        assert!(!valid_address("not an address"));
    }
}
