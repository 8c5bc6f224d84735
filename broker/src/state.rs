//! The state every broker handler receives as `web::Data<State>`.

use shared::server::Core;

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    pub core: Core,
    /// Seals buyers' opt-in mail contacts; only the mail sender opens them.
    pub contacts: std::sync::Arc<shared::crypto::Sealer>,
}
