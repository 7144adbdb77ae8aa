//! Public model names: administrators declare them and their targets; everyone may list the
//! ones they are allowed to use. Names that exist only through discovery are shown alongside,
//! read-only. Target health is this instance's view.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use serde_json::json;

use super::{
    CoreError, Services,
    audit::{self, Event},
    auth::{Admin, CurrentUser},
    db::{self, models::TargetWrite},
    upstreams::manage::{owned_by_admins, reload, source},
};
use crate::types::{
    AvailableModel, ModelChanges, ModelInfo, NewModel, NewTarget, Source, TargetInfo,
};

/// Every model, declared or discovered, with its targets and their health.
pub async fn list(services: &Services, _admin: Admin<'_>) -> Result<Vec<ModelInfo>, CoreError> {
    let rows = db::models::list(&services.db).await?;
    let mut targets = db::models::targets(&services.db, None).await?;
    let declared: HashSet<String> = rows.iter().map(|r| r.name.clone()).collect();
    let mut models: Vec<ModelInfo> = rows
        .into_iter()
        .map(|r| {
            let mine = targets
                .extract_if(.., |t| t.model_id == r.model_id)
                .map(|t| target_info(services, t))
                .collect();
            ModelInfo {
                model_id: Some(r.model_id),
                source: source(&r.source),
                name: r.name,
                enabled: r.enabled,
                created_at: r.created_at,
                targets: mine,
                input_price_micros: r.input_price_micros,
                output_price_micros: r.output_price_micros,
                unit_price_micros: r.unit_price_micros,
                image_prices: image_prices(r.image_prices.as_deref()),
            }
        })
        .collect();
    for m in services.registry.models() {
        if !m.discovered || declared.contains(&m.name) {
            continue;
        }
        models.push(ModelInfo {
            model_id: None,
            name: m.name.clone(),
            enabled: true,
            source: Source::Discovered,
            created_at: m.created_at,
            targets: m
                .targets
                .iter()
                .map(|t| TargetInfo {
                    target_id: t.target_id.clone(),
                    upstream_id: t.upstream.upstream_id.clone(),
                    upstream_name: t.upstream.name.clone(),
                    upstream_model: t.upstream_model.clone(),
                    weight: t.weight,
                    enabled: true,
                    health: Some(t.health.snapshot()),
                })
                .collect(),
            input_price_micros: m.prices.input_micros,
            output_price_micros: m.prices.output_micros,
            unit_price_micros: m.prices.unit_micros,
            image_prices: (*m.prices.images).clone(),
        });
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// The models the caller may use and that can be served now.
pub fn available(
    services: &Services,
    caller: &CurrentUser,
    own: Option<&[String]>,
) -> Vec<AvailableModel> {
    services
        .registry
        .models()
        .into_iter()
        .filter(|m| caller.all_models || own.is_some_and(|o| o.contains(&m.name)))
        .map(|m| AvailableModel {
            name: m.name.clone(),
            created_at: m.created_at,
        })
        .collect()
}

pub async fn create(
    services: &Services,
    admin: Admin<'_>,
    new: NewModel,
) -> Result<ModelInfo, CoreError> {
    let name = check_name(&new.name)?;
    let targets = check_targets(services, name, &new.targets).await?;
    let model_id = uuid::Uuid::now_v7().to_string();
    let enabled = new.enabled.unwrap_or(true);
    db::models::insert(&services.db, &model_id, name, enabled, &targets, Utc::now())
        .await
        .map_err(|e| name_taken(e, name))?;
    let event = Event::new(admin.user().actor(), "model.create")
        .target("model", &model_id)
        .details(json!({ "name": name, "enabled": enabled, "targets": describe(&targets) }));
    audit::record(&services.db, &event).await?;
    reload(services).await?;
    get(services, &model_id).await
}

pub async fn update(
    services: &Services,
    admin: Admin<'_>,
    model_id: &str,
    c: ModelChanges,
) -> Result<ModelInfo, CoreError> {
    let row = db::models::find(&services.db, model_id)
        .await?
        .ok_or(CoreError::NotFound("model"))?;
    owned_by_admins(&row.source, &row.name)?;
    let name = c.name.as_deref().map(check_name).transpose()?;
    let targets = match &c.targets {
        Some(t) => Some(check_targets(services, name.unwrap_or(&row.name), t).await?),
        None => None,
    };
    let found = db::models::update(
        &services.db,
        model_id,
        name,
        c.enabled,
        targets.as_deref(),
        Utc::now(),
    )
    .await
    .map_err(|e| name_taken(e, name.unwrap_or_default()))?;
    if !found {
        return Err(CoreError::NotFound("model"));
    }
    let event = Event::new(admin.user().actor(), "model.update")
        .target("model", model_id)
        .details(json!({
            "name": name, "enabled": c.enabled, "targets": targets.as_deref().map(describe),
        }));
    audit::record(&services.db, &event).await?;
    reload(services).await?;
    get(services, model_id).await
}

/// Sets what a declared model costs (file-declared ones too: the file does not price models),
/// which budgets charge from then on.
fn check_prices(
    input: Option<i64>,
    output: Option<i64>,
    unit: Option<i64>,
    images: &BTreeMap<String, i64>,
) -> Result<(), CoreError> {
    check_image_prices(images)?;
    for (field, price) in [
        ("input_price_micros", input),
        ("output_price_micros", output),
        ("unit_price_micros", unit),
    ] {
        if price.is_some_and(|p| p < 0) {
            return Err(CoreError::invalid(
                field,
                "a price cannot be negative; leave it empty for an unpriced model",
            ));
        }
    }
    Ok(())
}

/// Prices a model that exists only because an upstream lists it (all `None`: unpriced again).
/// A declared model of the same name, now or later, carries its own prices instead.
pub async fn set_discovered_prices(
    services: &Services,
    admin: Admin<'_>,
    name: &str,
    input_price_micros: Option<i64>,
    output_price_micros: Option<i64>,
    unit_price_micros: Option<i64>,
    image_prices: &BTreeMap<String, i64>,
) -> Result<(), CoreError> {
    check_prices(
        input_price_micros,
        output_price_micros,
        unit_price_micros,
        image_prices,
    )?;
    let known = services.registry.model(name).is_some_and(|m| m.discovered);
    if !known {
        return Err(CoreError::NotFound("discovered model"));
    }
    db::routing::set_discovered_price(
        &services.db,
        name,
        input_price_micros,
        output_price_micros,
        unit_price_micros,
        images_json(image_prices).as_deref(),
        Utc::now(),
    )
    .await?;
    let event = Event::new(admin.user().actor(), "model.set_prices")
        .target("model", name)
        .details(json!({
            "discovered": true,
            "input_price_micros": input_price_micros, "output_price_micros": output_price_micros,
            "unit_price_micros": unit_price_micros, "image_prices": image_prices,
        }));
    audit::record(&services.db, &event).await?;
    reload(services).await
}

pub async fn set_prices(
    services: &Services,
    admin: Admin<'_>,
    model_id: &str,
    input_price_micros: Option<i64>,
    output_price_micros: Option<i64>,
    unit_price_micros: Option<i64>,
    image_prices: &BTreeMap<String, i64>,
) -> Result<ModelInfo, CoreError> {
    check_prices(
        input_price_micros,
        output_price_micros,
        unit_price_micros,
        image_prices,
    )?;
    let found = db::models::set_prices(
        &services.db,
        model_id,
        input_price_micros,
        output_price_micros,
        unit_price_micros,
        images_json(image_prices).as_deref(),
        Utc::now(),
    )
    .await?;
    if !found {
        return Err(CoreError::NotFound("model"));
    }
    let event = Event::new(admin.user().actor(), "model.set_prices")
        .target("model", model_id)
        .details(json!({
            "input_price_micros": input_price_micros, "output_price_micros": output_price_micros,
            "unit_price_micros": unit_price_micros, "image_prices": image_prices,
        }));
    audit::record(&services.db, &event).await?;
    reload(services).await?;
    get(services, model_id).await
}

pub async fn delete(
    services: &Services,
    admin: Admin<'_>,
    model_id: &str,
) -> Result<(), CoreError> {
    let row = db::models::find(&services.db, model_id)
        .await?
        .ok_or(CoreError::NotFound("model"))?;
    owned_by_admins(&row.source, &row.name)?;
    if !db::models::delete(&services.db, model_id).await? {
        return Err(CoreError::NotFound("model"));
    }
    let event = Event::new(admin.user().actor(), "model.delete")
        .target("model", model_id)
        .details(json!({ "name": row.name }));
    audit::record(&services.db, &event).await?;
    reload(services).await
}

async fn get(services: &Services, model_id: &str) -> Result<ModelInfo, CoreError> {
    let r = db::models::find(&services.db, model_id)
        .await?
        .ok_or(CoreError::NotFound("model"))?;
    let targets = db::models::targets(&services.db, Some(model_id))
        .await?
        .into_iter()
        .map(|t| target_info(services, t))
        .collect();
    Ok(ModelInfo {
        model_id: Some(r.model_id),
        source: source(&r.source),
        name: r.name,
        enabled: r.enabled,
        created_at: r.created_at,
        targets,
        input_price_micros: r.input_price_micros,
        output_price_micros: r.output_price_micros,
        unit_price_micros: r.unit_price_micros,
        image_prices: image_prices(r.image_prices.as_deref()),
    })
}

fn target_info(services: &Services, t: db::models::TargetRow) -> TargetInfo {
    TargetInfo {
        health: services.registry.health(&t.target_id).map(|h| h.snapshot()),
        target_id: t.target_id,
        upstream_id: t.upstream_id,
        upstream_name: t.upstream_name,
        upstream_model: t.upstream_model,
        weight: u32::try_from(t.weight).unwrap_or(1),
        enabled: t.enabled,
    }
}

fn describe(targets: &[TargetWrite]) -> serde_json::Value {
    targets
        .iter()
        .map(|t| json!({ "upstream_id": t.upstream_id, "upstream_model": t.upstream_model, "weight": t.weight, "enabled": t.enabled }))
        .collect()
}

/// Model names as clients send them: printable, no spaces (`org/model:tag` is fine).
pub fn check_name(name: &str) -> Result<&str, CoreError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 200
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(CoreError::invalid(
            "name",
            "give a model name of 1 to 200 characters without spaces",
        ));
    }
    Ok(name)
}

async fn check_targets(
    services: &Services,
    model: &str,
    targets: &[NewTarget],
) -> Result<Vec<TargetWrite>, CoreError> {
    if targets.is_empty() {
        return Err(CoreError::invalid(
            "targets",
            "give at least one upstream that serves the model",
        ));
    }
    let upstreams = db::upstreams::list(&services.db).await?;
    let mut seen = HashSet::new();
    targets
        .iter()
        .map(|t| {
            let upstream = upstreams
                .iter()
                .find(|u| u.upstream_id == t.upstream_id)
                .ok_or_else(|| {
                    CoreError::invalid(
                        "targets",
                        format!("there is no upstream with id `{}`", t.upstream_id),
                    )
                })?;
            let upstream_model = t.upstream_model.as_deref().unwrap_or(model).trim();
            if upstream_model.is_empty() {
                return Err(CoreError::invalid(
                    "targets",
                    "the upstream's name for the model cannot be empty",
                ));
            }
            if !seen.insert((t.upstream_id.as_str(), upstream_model)) {
                return Err(CoreError::invalid(
                    "targets",
                    format!("`{upstream_model}` on `{}` is listed twice", upstream.name),
                ));
            }
            let weight = t.weight.unwrap_or(1);
            if !(1..=1000).contains(&weight) {
                return Err(CoreError::invalid("targets", "weights go from 1 to 1000"));
            }
            Ok(TargetWrite {
                upstream_id: t.upstream_id.clone(),
                upstream_model: upstream_model.to_owned(),
                weight: i64::from(weight),
                enabled: t.enabled.unwrap_or(true),
            })
        })
        .collect()
}

fn name_taken(e: CoreError, name: &str) -> CoreError {
    if e.is_unique_violation() {
        CoreError::Conflict(format!("model `{name}`"))
    } else {
        e
    }
}

/// Stored image prices (a JSON object); unreadable ones read as none.
fn image_prices(json: Option<&str>) -> BTreeMap<String, i64> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// Image prices as stored: `None` for none.
fn images_json(prices: &BTreeMap<String, i64>) -> Option<String> {
    (!prices.is_empty()).then(|| serde_json::to_string(prices).unwrap_or_default())
}

/// Image prices: at most 64, each keyed `quality`, `size` (`1024x1536`) or `quality/size`,
/// none negative.
pub(crate) fn check_image_prices(prices: &BTreeMap<String, i64>) -> Result<(), CoreError> {
    let invalid = |m: String| Err(CoreError::invalid("image_prices", m));
    if prices.len() > 64 {
        return invalid("price at most 64 kinds of image".into());
    }
    for (key, price) in prices {
        let plain = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let ok = match key.split_once('/') {
            Some((quality, size)) => plain(quality) && plain(size),
            None => plain(key),
        };
        if !ok {
            return invalid(format!(
                "`{key}` is not a quality, a size (1024x1536) or quality/size"
            ));
        }
        if *price < 0 {
            return invalid(format!("the price of `{key}` cannot be negative"));
        }
    }
    Ok(())
}
