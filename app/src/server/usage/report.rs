//! Usage as people read it: a series over time and the top models (from the rollups), and
//! single requests (from the events). Users see their own; administrators anyone's.

use chrono::{DateTime, Duration, Utc};

use crate::components::format::money;
use crate::server::{
    CoreError, Services,
    auth::CurrentUser,
    dates,
    db::usage_report::{self, Filter, at},
    usage::{Endpoint, Unit},
};
use crate::types::{
    ModelUsage, Role, UsageEventInfo, UsageFilter, UsagePage, UsagePoint, UsageSummary,
};

/// Ranges up to this long are shown by the hour, longer ones by the day.
const HOURLY_UP_TO: Duration = Duration::days(2);

/// The longest range one query may cover.
const MAX_RANGE: Duration = Duration::days(400);

/// The most rows one export carries.
pub const EXPORT_LIMIT: i64 = 100_000;

struct Resolved {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    user_id: Option<String>,
    api_key_id: Option<String>,
    model: Option<String>,
    endpoint: Option<Endpoint>,
}

impl Resolved {
    fn bind(&self) -> Filter<'_> {
        Filter {
            since_ms: self.since.timestamp_millis(),
            until_ms: self.until.timestamp_millis(),
            user_id: self.user_id.as_deref(),
            api_key_id: self.api_key_id.as_deref(),
            model: self.model.as_deref(),
            endpoint: self.endpoint.map(|e| e as i32),
        }
    }
}

fn resolve(caller: &CurrentUser, f: &UsageFilter) -> Result<Resolved, CoreError> {
    let user_id = match (caller.role, f.user_id.as_deref().filter(|u| !u.is_empty())) {
        (Role::Admin, other) => other.map(str::to_owned),
        (_, Some(other)) if other != caller.user_id => return Err(CoreError::Forbidden),
        _ => Some(caller.user_id.clone()),
    };
    let until = dates::optional("until", f.until)?.unwrap_or_else(Utc::now);
    let since = match dates::optional("since", f.since)? {
        Some(since) => since,
        None => until - Duration::days(7),
    };
    if since >= until {
        return Err(CoreError::invalid(
            "since",
            "the start must come before the end",
        ));
    }
    if until - since > MAX_RANGE {
        return Err(CoreError::invalid(
            "since",
            "look at 400 days or fewer at a time",
        ));
    }
    let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let endpoint = match some(&f.endpoint) {
        None => None,
        Some(name) => Some(Endpoint::from_name(&name).ok_or_else(|| {
            CoreError::invalid(
                "endpoint",
                format!("`{name}` is not an endpoint usage is kept for"),
            )
        })?),
    };
    Ok(Resolved {
        since,
        until,
        user_id,
        api_key_id: some(&f.api_key_id),
        model: some(&f.model),
        endpoint,
    })
}

pub async fn summary(
    services: &Services,
    caller: &CurrentUser,
    f: &UsageFilter,
) -> Result<UsageSummary, CoreError> {
    let mut r = resolve(caller, f)?;
    let hourly = r.until - r.since <= HOURLY_UP_TO;
    // Rollups cannot split a bucket: the range starts at the start of the bucket `since` falls
    // in, so the requests after `since` in that bucket are counted, and the answer says so.
    let bucket = if hourly {
        crate::server::db::usage::HOUR_MS
    } else {
        crate::server::db::usage::DAY_MS
    };
    let since_ms = r.since.timestamp_millis();
    r.since = at(since_ms - since_ms.rem_euclid(bucket));
    let rows = usage_report::series(&services.db, &r.bind(), hourly).await?;
    let top = usage_report::top_models(&services.db, &r.bind(), hourly).await?;
    let series: Vec<UsagePoint> = rows
        .into_iter()
        .map(
            |(start, requests, errors, prompt_tokens, completion_tokens, cost_micros)| UsagePoint {
                start: at(start),
                requests,
                errors,
                prompt_tokens,
                completion_tokens,
                cost_micros,
            },
        )
        .collect();
    Ok(UsageSummary {
        requests: series.iter().map(|p| p.requests).sum(),
        errors: series.iter().map(|p| p.errors).sum(),
        prompt_tokens: series.iter().map(|p| p.prompt_tokens).sum(),
        completion_tokens: series.iter().map(|p| p.completion_tokens).sum(),
        cost_micros: series.iter().map(|p| p.cost_micros).sum(),
        since: r.since,
        until: r.until,
        bucket: if hourly { "hour" } else { "day" }.to_owned(),
        series,
        top_models: top
            .into_iter()
            .map(|(model, requests, tokens)| ModelUsage {
                model,
                requests,
                tokens,
            })
            .collect(),
    })
}

pub async fn events(
    services: &Services,
    caller: &CurrentUser,
    f: &UsageFilter,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<UsagePage, CoreError> {
    let r = resolve(caller, f)?;
    let limit = limit.unwrap_or(50).clamp(1, 500);
    let offset = offset.unwrap_or(0).max(0);
    let (rows, total) = usage_report::events(&services.db, &r.bind(), limit, offset).await?;
    Ok(UsagePage {
        events: rows.into_iter().map(to_info).collect(),
        total,
    })
}

/// The events as CSV, newest first, at most [`EXPORT_LIMIT`] rows.
pub async fn export(
    services: &Services,
    caller: &CurrentUser,
    f: &UsageFilter,
) -> Result<String, CoreError> {
    let r = resolve(caller, f)?;
    let (rows, _) = usage_report::events(&services.db, &r.bind(), EXPORT_LIMIT, 0).await?;
    let mut csv = String::from(
        "time,user,key,model,endpoint,status,outcome,streamed,prompt_tokens,completion_tokens,units,unit,cost,total_ms,ttfb_ms\n",
    );
    for e in rows.into_iter().map(to_info) {
        let fields = [
            e.created_at.to_rfc3339(),
            e.username.unwrap_or(e.user_id),
            e.key_name.unwrap_or_default(),
            e.model,
            e.endpoint,
            e.status.to_string(),
            e.outcome,
            e.streamed.to_string(),
            e.prompt_tokens.to_string(),
            e.completion_tokens.to_string(),
            e.units.to_string(),
            e.unit,
            money(e.cost_micros),
            e.total_ms.to_string(),
            e.ttfb_ms.map(|t| t.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    Ok(csv)
}

/// Quotes a field when it needs it, and defuses spreadsheet formulas (`=`, `+`, `-`, `@`).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn to_info(e: usage_report::EventRow) -> UsageEventInfo {
    UsageEventInfo {
        created_at: at(e.created_ms),
        user_id: e.user_id,
        username: e.username,
        api_key_id: e.api_key_id.filter(|k| !k.is_empty()),
        key_name: e.key_name,
        model: e.model,
        endpoint: Endpoint::from_code(e.endpoint)
            .map_or("unknown", Endpoint::name)
            .to_owned(),
        status: e.status,
        outcome: match e.outcome {
            0 => "completed",
            1 => "upstream_error",
            2 => "client_cancelled",
            _ => "unreachable",
        }
        .to_owned(),
        streamed: e.streamed,
        prompt_tokens: e.prompt_tokens,
        completion_tokens: e.completion_tokens,
        total_ms: e.total_ms,
        ttfb_ms: e.ttfb_ms,
        cost_micros: e.cost_micros,
        units: e.units,
        unit: Endpoint::from_code(e.endpoint)
            .map(Endpoint::unit)
            .filter(|u| !matches!(u, Unit::Tokens | Unit::PromptTokens))
            .map_or("", Unit::name)
            .to_owned(),
    }
}
