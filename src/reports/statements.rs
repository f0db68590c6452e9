//! Statements as the CLI prints them: one statement's breakdown as CSV or text, and a list
//! of statements' totals as CSV or tab-separated text (a statement's HTML page is
//! [`super::statement_page`]).

use std::collections::HashMap;
use std::io::{self, Write};

use aggregates::finance::pennies;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::finance::StatementBreakdown;

/// Writes one line per statement (who, which, where it stands and what it comes to),
/// separated by `delimiter`; `names` names the lead providers by id.
pub fn summaries(
    all: &[StatementBreakdown],
    names: &HashMap<Uuid, String>,
    delimiter: u8,
    out: impl Write,
) -> Result<(), csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    out.write_record([
        "lead_provider",
        "programme",
        "cohort",
        "statement",
        "status",
        "total",
        "vat",
        "total_with_vat",
    ])?;
    for priced in all {
        out.write_record([
            names
                .get(&priced.lead_provider_id)
                .cloned()
                .unwrap_or_else(|| priced.lead_provider_id.to_string()),
            priced.programme.clone(),
            priced.cohort.to_string(),
            priced.name.clone(),
            format!("{:?}", priced.status).to_lowercase(),
            format!("{:.2}", pennies(priced.total)),
            format!("{:.2}", pennies(priced.vat)),
            format!("{:.2}", pennies(priced.total_with_vat)),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// Writes a statement's breakdown as CSV: item, band, count and amount.
pub fn breakdown_csv(priced: &StatementBreakdown, out: impl Write) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(out);
    out.write_record(["item", "band", "count", "amount"])?;
    for band in &priced.bands {
        out.write_record([
            format!("{} output", band.declaration_type),
            band.band.to_string(),
            band.additions.to_string(),
            format!("{:.2}", pennies(band.output_fee)),
        ])?;
        out.write_record([
            format!("{} clawback", band.declaration_type),
            band.band.to_string(),
            band.subtractions.to_string(),
            format!("{:.2}", pennies(Decimal::ZERO - band.clawback)),
        ])?;
    }
    for course in &priced.courses {
        out.write_record([
            course.course_identifier.clone(),
            String::new(),
            course.billable.to_string(),
            format!("{:.2}", pennies(course.total)),
        ])?;
    }
    for (item, amount) in totals(priced) {
        out.write_record([
            item.to_owned(),
            String::new(),
            String::new(),
            format!("{:.2}", pennies(amount)),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// Writes a statement's breakdown as aligned text.
pub fn breakdown_text(priced: &StatementBreakdown, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{} statement, {} cohort {} ({:?}{})",
        priced.name,
        priced.programme.to_uppercase(),
        priced.cohort,
        priced.status,
        priced
            .as_of
            .map(|at| format!(", as of {at}"))
            .unwrap_or_default()
    )?;
    for band in &priced.bands {
        writeln!(
            out,
            "  {:<12} band {}  {:>5} paid £{:>12.2}  {:>4} clawed back £{:>10.2}",
            band.declaration_type,
            band.band,
            band.additions,
            pennies(band.output_fee),
            band.subtractions,
            pennies(band.clawback)
        )?;
    }
    for course in &priced.courses {
        writeln!(
            out,
            "  {:<40} {:>5} paid  {:>4} clawed back  £{:>12.2}",
            course.course_identifier,
            course.billable,
            course.refundable,
            pennies(course.total)
        )?;
    }
    for (item, amount) in totals(priced) {
        writeln!(out, "  {item:<16} £{:>12.2}", pennies(amount))?;
    }
    Ok(())
}

fn totals(priced: &StatementBreakdown) -> [(&'static str, Decimal); 7] {
    [
        ("service fee", priced.service_fee),
        ("output fees", priced.output_fee),
        ("uplift fees", priced.uplift_fee),
        ("adjustments", priced.adjustments),
        ("total", priced.total),
        ("VAT", priced.vat),
        ("total with VAT", priced.total_with_vat),
    ]
}
