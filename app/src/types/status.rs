use serde::{Deserialize, Serialize};

/// What anyone may learn about a running gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStatus {
    pub version: String,
    /// True when the database answers and every migration is applied.
    pub ready: bool,
}
