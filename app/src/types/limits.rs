use serde::{Deserialize, Serialize};

/// Usage limits of a user or an API key; `None` means unlimited. A key is held to its own
/// limits and to its owner's at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default)]
    pub requests_per_minute: Option<i64>,
    #[serde(default)]
    pub tokens_per_minute: Option<i64>,
    /// Per UTC day.
    #[serde(default)]
    pub tokens_per_day: Option<i64>,
    /// Per UTC calendar month.
    #[serde(default)]
    pub tokens_per_month: Option<i64>,
    /// A spending cap per UTC calendar month, in micro-units of the deployment's currency,
    /// from the models' prices.
    #[serde(default)]
    pub cost_per_month_micros: Option<i64>,
}

impl Limits {
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }

    /// The most any limit may be: far beyond any real use, small enough that sums cannot
    /// overflow.
    pub const MAX: i64 = 1 << 50;

    /// The first limit that is not a positive number up to [`Limits::MAX`], as
    /// `(field, message)`.
    pub fn invalid(&self) -> Option<(&'static str, String)> {
        [
            ("requests_per_minute", self.requests_per_minute),
            ("tokens_per_minute", self.tokens_per_minute),
            ("tokens_per_day", self.tokens_per_day),
            ("tokens_per_month", self.tokens_per_month),
            ("cost_per_month_micros", self.cost_per_month_micros),
        ]
        .into_iter()
        .find_map(|(field, v)| match v {
            Some(n) if n <= 0 => Some((
                field,
                "must be a positive number, or empty for no limit".to_owned(),
            )),
            Some(n) if n > Self::MAX => Some((field, format!("must be at most {}", Self::MAX))),
            _ => None,
        })
    }
}

/// Whose limits: a user's (every key and session of theirs together) or one API key's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHolder {
    User,
    Key,
}

/// A holder's limits and what it has used of the daily and monthly ones, from the usage
/// rollups (requests still in flight and the last second's batch are not in it yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsView {
    pub holder: LimitHolder,
    pub id: String,
    pub limits: Limits,
    pub tokens_today: i64,
    pub tokens_this_month: i64,
    pub cost_this_month_micros: i64,
}
