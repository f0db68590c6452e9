//! A statement's printable HTML page, as the finance API serves it and the CLI prints it, and
//! amounts in pounds as every finance page shows them.

use aggregates::finance::pennies;

use crate::finance::StatementBreakdown;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An amount in pounds with thousands separators: `£11,089.00`, `-£143.28`.
pub fn pounds(amount: rust_decimal::Decimal) -> String {
    let text = format!("{:.2}", amount.abs());
    let (whole, pence) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}£{grouped}.{pence}")
}

/// A printable statement page.
pub fn html(priced: &StatementBreakdown) -> String {
    let money = |amount: rust_decimal::Decimal| pounds(pennies(amount));
    let mut rows = String::new();
    for band in &priced.bands {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&band.declaration_type),
            band.band,
            band.additions,
            money(band.output_fee),
            band.subtractions,
            money(band.clawback)
        ));
    }
    for course in &priced.courses {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>–</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&course.course_identifier),
            course.billable,
            money(course.output),
            course.refundable,
            money(course.clawback)
        ));
    }
    let as_of = priced
        .as_of
        .map(|at| format!(" as of {}", at.to_rfc3339()))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Statement {name} ({programme} {cohort})</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px;text-align:right}}th{{background:#eee}}td:first-child,th:first-child{{text-align:left}}@media print{{body{{margin:0}}}}</style>
</head><body>
<h1>{name} statement</h1>
<p>{programme_upper} cohort {cohort}. Deadline {deadline}, payment {payment}. Status: {status:?}{as_of}.</p>
<table><thead><tr><th>Declaration type or course</th><th>Band</th><th>Paid</th><th>Output</th><th>Clawed back</th><th>Clawback</th></tr></thead><tbody>{rows}</tbody></table>
<table style="margin-top:1em"><tbody>
<tr><th>Service fee</th><td>{service}</td></tr>
<tr><th>Output fees</th><td>{output}</td></tr>
<tr><th>{uplift_label}</th><td>{uplift}</td></tr>
<tr><th>Adjustments</th><td>{adjustments}</td></tr>
<tr><th>Total</th><td>{total}</td></tr>
<tr><th>VAT</th><td>{vat}</td></tr>
<tr><th>Total with VAT</th><td>{with_vat}</td></tr>
</tbody></table>
</body></html>
"#,
        name = escape(&priced.name),
        programme = priced.programme,
        programme_upper = priced.programme.to_uppercase(),
        cohort = priced.cohort,
        deadline = priced.deadline_date,
        payment = priced.payment_date,
        status = priced.status,
        service = money(priced.service_fee),
        output = money(priced.output_fee),
        uplift = money(priced.uplift_fee),
        uplift_label = match priced.programme.as_str() {
            "npq" => "Targeted delivery funding",
            _ => "Uplift fees",
        },
        adjustments = money(priced.adjustments),
        total = money(priced.total),
        vat = money(priced.vat),
        with_vat = money(priced.total_with_vat),
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::pounds;

    #[test]
    fn pounds_are_grouped_in_thousands_with_the_sign_first() {
        let cases = [
            (Decimal::new(1_108_900, 2), "£11,089.00"),
            (Decimal::new(-14_328, 2), "-£143.28"),
            (Decimal::new(12_345_678_905, 2), "£123,456,789.05"),
            (Decimal::new(99_950, 2), "£999.50"),
            (Decimal::ZERO, "£0.00"),
        ];
        for (amount, shown) in cases {
            assert_eq!(pounds(amount), shown);
        }
    }
}
