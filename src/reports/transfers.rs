//! The transferred-provider trail (`projections::audit::transfer_trails`) as CSV, for
//! `GET /audit/transfers.csv` and `audit transfers --format csv`, and as text for the CLI.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use projections::audit::Trail;

/// An instant as the API writes it: RFC 3339 in UTC to the second.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The providers a trail's training record went through, in order.
fn providers(trail: &Trail) -> Vec<&str> {
    trail
        .placements
        .iter()
        .map(|p| p.provider.as_str())
        .collect()
}

/// Writes trails as CSV: one row per action on each declaration.
pub fn trails_csv(trails: &[Trail]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "participant_id",
        "training_record_id",
        "providers",
        "declaration_id",
        "declaration_type",
        "declaration_date",
        "submitted_by",
        "state",
        "action",
        "actor_type",
        "actor_id",
        "at",
        "visible_to",
    ])?;
    for trail in trails {
        let providers = providers(trail);
        for declaration in &trail.declarations {
            for action in &declaration.actions {
                out.write_record([
                    trail.participant_id.to_string(),
                    trail.training_record_id.to_string(),
                    providers.join(" > "),
                    declaration.id.to_string(),
                    declaration.declaration_type.clone(),
                    timestamp(declaration.declaration_date),
                    declaration.submitted_by.clone(),
                    declaration.state.clone(),
                    action.action.clone(),
                    action.actor_type.clone().unwrap_or_default(),
                    action.actor_id.clone().unwrap_or_default(),
                    timestamp(action.at),
                    declaration.visible_to.join("; "),
                ])?;
            }
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes trails as indented text: each record, its declarations and their actions.
pub fn trails_text(trails: &[Trail], out: &mut impl Write) -> io::Result<()> {
    for trail in trails {
        writeln!(
            out,
            "participant {} (record {}): {}",
            trail.participant_id,
            trail.training_record_id,
            providers(trail).join(" > ")
        )?;
        for d in &trail.declarations {
            writeln!(
                out,
                "  {} {} {} by {} [{}]",
                d.id,
                d.declaration_type,
                d.declaration_date.date_naive(),
                d.submitted_by,
                d.state
            )?;
            for a in &d.actions {
                let by = a.actor_type.as_deref().unwrap_or("-");
                writeln!(
                    out,
                    "    {} {} by {by} {}",
                    timestamp(a.at),
                    a.action,
                    a.actor_id.as_deref().unwrap_or("")
                )?;
            }
            if !d.visible_to.is_empty() {
                writeln!(out, "    visible to {}", d.visible_to.join(", "))?;
            }
        }
    }
    Ok(())
}
