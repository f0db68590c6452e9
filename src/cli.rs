//! The CLI subcommands besides `serve`: replaying read models, issuing tokens, and the
//! school- and DfE-side commands on ECF participants.

mod audit;
mod tokens;

use std::path::PathBuf;
use std::time::Instant;

use aggregates::course::ParticipantType;
use aggregates::{LeadProviderId, ParticipantId, TrainingRecordId};
use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use projections::{Runner, lead_providers};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{self, Role};
use crate::flows::retirement::{self, RetireRequest};
use crate::flows::school::{self, NewParticipant};
use crate::ledger::{Actor, CommandContext, Ledger};
pub use tokens::{list_tokens, revoke_token};

/// School- and DfE-side commands on ECF participants.
#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Register a participant at a school; the school's partnership for the cohort decides
    /// the lead provider. Prints the participant id and the training record id.
    Register {
        /// The school's URN.
        #[arg(long)]
        school_urn: String,
        /// The cohort (start year).
        #[arg(long)]
        cohort: i32,
        /// `ect` or `mentor`.
        #[arg(long = "type", value_parser = ["ect", "mentor"])]
        participant_type: String,
        /// Full name.
        #[arg(long)]
        full_name: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Teacher reference number (taken as validated).
        #[arg(long)]
        trn: Option<String>,
        /// An existing person's id, to give them a second record (an ECT who is also a mentor).
        #[arg(long)]
        participant_id: Option<Uuid>,
        /// The schedule (default ecf-standard-september).
        #[arg(long)]
        schedule: Option<String>,
        /// Funding eligibility: `true` or `false`; omit while undecided.
        #[arg(long)]
        eligible: Option<bool>,
        /// Pupil premium uplift.
        #[arg(long)]
        pupil_premium: bool,
        /// Sparsity uplift.
        #[arg(long)]
        sparsity: bool,
        /// The ECT's mentor (a participant id).
        #[arg(long)]
        mentor_id: Option<Uuid>,
        /// When training starts (YYYY-MM-DD; default today).
        #[arg(long)]
        start: Option<NaiveDate>,
    },
    /// Assign an ECT's mentor (omit --mentor-id to remove it).
    Mentor {
        /// The ECT's training record id.
        record: Uuid,
        /// The mentor's participant id.
        #[arg(long)]
        mentor_id: Option<Uuid>,
    },
    /// Decide funding eligibility; becoming eligible moves submitted declarations to eligible.
    Eligibility {
        /// The training record id.
        record: Uuid,
        /// `true`, `false` or `unknown`.
        #[arg(long, value_parser = ["true", "false", "unknown"])]
        eligible: String,
    },
    /// Report the day a participant leaves their school.
    Leave {
        /// The training record id.
        record: Uuid,
        /// The leaving day (YYYY-MM-DD).
        #[arg(long)]
        date: NaiveDate,
    },
    /// Record another school taking the participant on (a transfer).
    Join {
        /// The training record id.
        record: Uuid,
        /// The new school's URN.
        #[arg(long)]
        school_urn: String,
        /// The first day at the new school (YYYY-MM-DD).
        #[arg(long)]
        date: NaiveDate,
    },
    /// Retire a duplicate participant id: its records, declarations, outcomes and NPQ
    /// applications move to the id kept, which the retired id names from then on.
    RetireId {
        /// The participant id to retire.
        #[arg(long)]
        retire: Uuid,
        /// The participant id to keep.
        #[arg(long)]
        keep: Uuid,
        /// The two are one person although they share no TRN.
        #[arg(long)]
        same_person: bool,
    },
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(Default::default()).and_utc()
}

/// Runs a participant command as the CLI's administrator.
pub async fn participant(ledger: &Ledger, command: ParticipantCommand) -> anyhow::Result<()> {
    // The sandbox clock recorded in the database, if it is a sandbox.
    let now = crate::sandbox::now(ledger.pool()).await?;
    let context = CommandContext::of(Actor::Admin(None));
    match command {
        ParticipantCommand::Register {
            school_urn,
            cohort,
            participant_type,
            full_name,
            email,
            trn,
            participant_id,
            schedule,
            eligible,
            pupil_premium,
            sparsity,
            mentor_id,
            start,
        } => {
            let new = NewParticipant {
                participant_id: participant_id.map(ParticipantId),
                training_record_id: None,
                participant_type: if participant_type == "mentor" {
                    ParticipantType::Mentor
                } else {
                    ParticipantType::Ect
                },
                full_name,
                email,
                trn_validated: trn.is_some(),
                trn,
                school_urn,
                cohort,
                schedule_identifier: schedule,
                eligible_for_funding: eligible,
                pupil_premium_uplift: pupil_premium,
                sparsity_uplift: sparsity,
                mentor_id: mentor_id.map(ParticipantId),
                start: start.map_or(now, midnight),
            };
            let (participant, record) = school::register(ledger, new, &context).await?;
            println!("participant_id     {participant}");
            println!("training_record_id {record}");
        }
        ParticipantCommand::Mentor { record, mentor_id } => {
            school::assign_mentor(
                ledger,
                TrainingRecordId(record),
                mentor_id.map(ParticipantId),
                &context,
            )
            .await?;
            println!("mentor recorded for {record}");
        }
        ParticipantCommand::Eligibility { record, eligible } => {
            let eligible = eligible.parse::<bool>().ok();
            school::change_funding_eligibility(
                ledger,
                TrainingRecordId(record),
                eligible,
                now,
                &context,
            )
            .await?;
            println!("funding eligibility recorded for {record}");
        }
        ParticipantCommand::Leave { record, date } => {
            school::report_leaving(ledger, TrainingRecordId(record), midnight(date), &context)
                .await?;
            println!("{record} leaves on {date}");
        }
        ParticipantCommand::Join {
            record,
            school_urn,
            date,
        } => {
            school::join(
                ledger,
                TrainingRecordId(record),
                &school_urn,
                midnight(date),
                &context,
            )
            .await?;
            println!("{record} joins {school_urn} on {date}");
        }
        ParticipantCommand::RetireId {
            retire,
            keep,
            same_person,
        } => {
            let request = RetireRequest {
                retired: ParticipantId(retire),
                kept: ParticipantId(keep),
                confirmed_same_person: same_person,
            };
            let moved = retirement::retire_id(ledger, request, &context).await?;
            println!("{retire} retired in favour of {keep}");
            println!("training records moved {}", moved.training_records);
            println!("npq courses moved      {}", moved.npq_courses);
            println!("declarations moved     {}", moved.declarations);
        }
    }
    Ok(())
}

/// Rebuilds one read model, or all, from the start of the event log.
pub async fn replay(pool: &PgPool, only: Option<String>) -> anyhow::Result<()> {
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    let names: Vec<String> = match &only {
        Some(name) => vec![name.clone()],
        None => runner
            .projections()
            .iter()
            .filter(|p| p.rebuildable())
            .map(|p| p.name().to_owned())
            .collect(),
    };
    let style =
        ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} events {per_sec}")?
            .progress_chars("=> ");
    for name in names {
        let bar = ProgressBar::new(0)
            .with_style(style.clone())
            .with_prefix(name.clone());
        let started = Instant::now();
        let applied = runner
            .rebuild(&name, |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await
            .with_context(|| format!("cannot rebuild {name}"))?;
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let rate = applied as f64 / seconds.max(f64::EPSILON);
        println!("{name}: rebuilt from {applied} events in {seconds:.2}s ({rate:.0} events/s)");
    }
    if only.is_none() {
        println!("audit_seals: kept (seals are evidence, written once, never rebuilt)");
    }
    Ok(())
}

/// Prints each read model's lag and any halt; fails when one has halted, so scripts notice.
pub async fn projections_status(runner: &Runner) -> anyhow::Result<()> {
    let statuses = runner.status().await?;
    println!(
        "{:<20} {:>12} {:>10}  state",
        "read model", "lag events", "lag secs"
    );
    for status in &statuses {
        let state = match &status.halt {
            None => "running".to_owned(),
            Some(halt) => format!(
                "HALTED at position {} (event {}) since {}: {}",
                halt.position, halt.event_id, halt.since, halt.error
            ),
        };
        println!(
            "{:<20} {:>12} {:>10.1}  {state}",
            status.name, status.lag_events, status.lag_seconds
        );
    }
    let halted = statuses.iter().filter(|s| s.halt.is_some()).count();
    if halted > 0 {
        anyhow::bail!(
            "{halted} read model(s) halted; fix the cause and restart the service, which tries \
             the event again at start"
        );
    }
    Ok(())
}

/// Issues a token for a lead provider (by name) or a staff role, and prints it last.
pub async fn create_token(
    pool: &PgPool,
    provider: Option<String>,
    role: Option<String>,
    expires_in: Option<chrono::TimeDelta>,
) -> anyhow::Result<()> {
    let (role, provider) = match (provider, role) {
        (Some(name), _) => {
            // Make sure the read model has every registered provider before looking one up.
            Runner::new(pool.clone(), projections::all())
                .await?
                .catch_up()
                .await?;
            let Some(provider) = lead_providers::find_by_name(pool, &name).await? else {
                let known: Vec<String> = lead_providers::all(pool)
                    .await?
                    .into_iter()
                    .map(|p| p.name)
                    .collect();
                bail!(
                    "no lead provider is called {name:?}; known providers: {}",
                    known.join(", ")
                );
            };
            (Role::LeadProvider, Some(provider))
        }
        (None, Some(role)) => (auth::parse_role(&role).context("unknown role")?, None),
        (None, None) => bail!("name a --lead-provider or a --role"),
    };
    let id = provider.as_ref().map(|p| LeadProviderId(p.id));
    let expires_at = expires_in.map(|period| Utc::now() + period);
    let issued =
        auth::create_token_until(pool, role, id, "issued with the CLI", expires_at).await?;
    match provider {
        Some(provider) => println!(
            "Token for {} (shown only once; keep it secret):",
            provider.name
        ),
        None => println!("Token for the {role:?} role (shown only once; keep it secret):"),
    }
    if let Some(expiry) = expires_at {
        println!("It expires at {expiry}.");
    }
    println!("{}", issued.token);
    Ok(())
}

/// School-side commands on partnerships and cohorts.
#[derive(Debug, Subcommand)]
pub enum SchoolCommand {
    /// The school challenges a partnership.
    Challenge {
        /// The partnership id.
        partnership: Uuid,
        /// another_provider, not_confirmed, do_not_recognise, no_ects or mistake.
        #[arg(long)]
        reason: String,
    },
    /// The school sets a cohort up, optionally choosing its induction programme.
    SetUp {
        /// The school's URN.
        #[arg(long)]
        urn: String,
        /// The cohort.
        #[arg(long)]
        cohort: i32,
        /// The induction programme choice, e.g. full_induction_programme.
        #[arg(long)]
        programme: Option<String>,
    },
}

/// Runs a school command as the CLI's administrator.
pub async fn school(ledger: &Ledger, command: SchoolCommand) -> anyhow::Result<()> {
    // The sandbox clock recorded in the database, if it is a sandbox.
    let now = crate::sandbox::now(ledger.pool()).await?;
    let context = CommandContext::of(Actor::Admin(None));
    match command {
        SchoolCommand::Challenge {
            partnership,
            reason,
        } => {
            let id = aggregates::PartnershipId(partnership);
            let (school, cohort) = projections::reference::partnership_key(ledger.pool(), id)
                .await?
                .with_context(|| format!("no partnership has the id {partnership}"))?;
            crate::flows::partnerships::challenge(
                ledger,
                (id, school, cohort),
                &reason,
                now,
                &context,
            )
            .await?;
            println!("partnership {partnership} challenged ({reason})");
        }
        SchoolCommand::SetUp {
            urn,
            cohort,
            programme,
        } => {
            let (school, _) = projections::reference::school_by_urn(ledger.pool(), &urn)
                .await?
                .with_context(|| format!("no school has the URN {urn}"))?;
            crate::flows::partnerships::set_up_cohort(
                ledger,
                school,
                cohort,
                programme.as_deref(),
                &context,
            )
            .await?;
            println!("school {urn} set up for cohort {cohort}");
        }
    }
    Ok(())
}

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the event log against its seals, both ways, and list every disagreement (exits
    /// non-zero on any).
    Verify {
        /// A head kept earlier (`audit head`'s JSON, or `GET /audit/head`'s): also prove the
        /// log still holds everything up to it, unchanged.
        #[arg(long, value_name = "FILE")]
        since_head: Option<PathBuf>,
    },
    /// Print the newest seal as JSON, for an auditor to keep outside the system.
    Head,
    /// Every event concerning one person, in order.
    Participant {
        /// The participant id.
        id: Uuid,
    },
    /// Every event of one declaration, in order.
    Declaration {
        /// The declaration id.
        id: Uuid,
    },
    /// The transferred-provider trail.
    Transfers {
        /// `text` (default), `json` or `csv`.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "csv"])]
        format: String,
    },
}

/// Runs an audit command; a broken chain is an error (non-zero exit).
pub async fn audit(pool: &PgPool, command: AuditCommand) -> anyhow::Result<()> {
    let filter = match command {
        AuditCommand::Verify { since_head } => return audit::verify(pool, since_head).await,
        AuditCommand::Head => return audit::head(pool).await,
        AuditCommand::Transfers { format } => return transfers(pool, &format).await,
        AuditCommand::Participant { id } => projections::audit::EventFilter {
            participant_id: Some(id),
            ..Default::default()
        },
        AuditCommand::Declaration { id } => projections::audit::EventFilter {
            declaration_id: Some(id),
            ..Default::default()
        },
    };
    let events = projections::audit::events(pool, &filter, Default::default(), 10_000).await?;
    if events.is_empty() {
        bail!("no events concern that id");
    }
    for event in events {
        let meta = |key: &str| {
            event
                .metadata
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_owned()
        };
        println!(
            "{}  #{:<8} {}/{} {:<26} by {} {}  {}",
            event
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            event.position.position,
            event.aggregate_type,
            event.aggregate_id,
            event.event_type,
            meta("actor_type"),
            meta("actor_id"),
            event.payload,
        );
    }
    Ok(())
}

async fn transfers(pool: &PgPool, format: &str) -> anyhow::Result<()> {
    let trails = projections::audit::transfer_trails(pool).await?;
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&trails)?),
        "csv" => print!("{}", crate::http::audit::trails_csv(&trails)?),
        _ => {
            for trail in &trails {
                let providers: Vec<&str> = trail
                    .placements
                    .iter()
                    .map(|p| p.provider.as_str())
                    .collect();
                println!(
                    "participant {} (record {}): {}",
                    trail.participant_id,
                    trail.training_record_id,
                    providers.join(" > ")
                );
                for d in &trail.declarations {
                    println!(
                        "  {} {} {} by {} [{}]",
                        d.id,
                        d.declaration_type,
                        d.declaration_date.date_naive(),
                        d.submitted_by,
                        d.state
                    );
                    for a in &d.actions {
                        let by = a.actor_type.as_deref().unwrap_or("-");
                        println!(
                            "    {} {} by {by} {}",
                            a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            a.action,
                            a.actor_id.as_deref().unwrap_or("")
                        );
                    }
                    if !d.visible_to.is_empty() {
                        println!("    visible to {}", d.visible_to.join(", "));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Which statement: provider, programme, cohort and month.
#[derive(Debug, clap::Args)]
pub struct StatementChoice {
    /// The lead provider's name.
    #[arg(long)]
    lead_provider: String,
    /// The cohort.
    #[arg(long)]
    cohort: i32,
    /// The month, as the statement is named, e.g. "May 2023".
    #[arg(long)]
    month: String,
    /// `ecf` or `npq`.
    #[arg(long, default_value = "ecf", value_parser = ["ecf", "npq"])]
    programme: String,
}

/// NPQ registration-side commands.
#[derive(Debug, Subcommand)]
pub enum NpqCommand {
    /// Record an application; prints the application id and the applicant's id.
    Apply(Box<crate::flows::npq::NewApplication>),
}

/// Runs an NPQ registration-side command as the CLI's operator.
pub async fn npq(ledger: &Ledger, command: NpqCommand) -> anyhow::Result<()> {
    match command {
        NpqCommand::Apply(new) => {
            let application = new
                .resolve(ledger.pool())
                .await
                .map_err(|(attribute, message)| anyhow::anyhow!("{attribute}: {message}"))?;
            let context = CommandContext::of(Actor::Admin(None));
            let row = crate::flows::npq::apply(ledger, application, &context).await?;
            println!(
                "application {} of participant {}",
                row.id, row.participant_id
            );
        }
    }
    Ok(())
}

/// Statement commands for finance.
#[derive(Debug, Subcommand)]
pub enum StatementsCommand {
    /// Show a statement's breakdown from the live read models (or `--as-of`, from the log).
    Show {
        #[command(flatten)]
        choice: StatementChoice,
        /// Show it as the event log stood at this instant (RFC 3339).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json`, `csv` or `html`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "html"])]
        format: String,
    },
    /// Rebuild a statement from the event log (as of now, or `--as-of`), with progress.
    Replay {
        #[command(flatten)]
        choice: StatementChoice,
        /// Replay up to this instant (RFC 3339); default now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json`, `csv` or `html`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "html"])]
        format: String,
    },
    /// Rebuild every statement from the event log in one pass and list their totals.
    ReplayAll {
        /// Replay up to this instant (RFC 3339); default now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json` or `csv`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
    },
    /// Close every statement whose deadline day is over (the service does this itself too).
    CloseDue {
        /// Close as of this instant (RFC 3339); default now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// Mark a closed statement paid.
    Pay {
        #[command(flatten)]
        choice: StatementChoice,
    },
}

/// Runs a statements command as the CLI's operator (finance).
pub async fn statements(ledger: &Ledger, command: StatementsCommand) -> anyhow::Result<()> {
    // The sandbox clock recorded in the database, if it is a sandbox.
    let today = crate::sandbox::now(ledger.pool()).await?;
    let pool = ledger.pool();
    match command {
        StatementsCommand::CloseDue { now } => {
            let closed = crate::finance::close_due(ledger, now.unwrap_or(today)).await?;
            println!("closed {closed} statements");
        }
        StatementsCommand::Pay { choice } => {
            let id = find_statement(pool, &choice).await?;
            crate::finance::pay(ledger, id, today, &CommandContext::of(Actor::Admin(None))).await?;
            println!("statement {id} paid");
        }
        StatementsCommand::Show {
            choice,
            as_of,
            format,
        } => {
            let id = find_statement(pool, &choice).await?;
            let priced = crate::finance::breakdown(pool, id, as_of, |_| {})
                .await?
                .context("statement not found")?;
            print_breakdown(&priced, &format)?;
        }
        StatementsCommand::Replay {
            choice,
            as_of,
            format,
        } => {
            let id = find_statement(pool, &choice).await?;
            let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
                "replaying {pos} events {per_sec}",
            )?);
            let started = Instant::now();
            let priced =
                crate::finance::breakdown(pool, id, Some(as_of.unwrap_or(today)), |read| {
                    bar.set_position(read)
                })
                .await?
                .context("statement not found")?;
            let events = bar.position();
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "replayed {events} declaration events in {seconds:.2}s ({:.0} events/s)",
                events as f64 / seconds.max(f64::EPSILON)
            );
            print_breakdown(&priced, &format)?;
        }
        StatementsCommand::ReplayAll { as_of, format } => {
            let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
                "replaying {pos} events {per_sec}",
            )?);
            let started = Instant::now();
            let all = crate::finance::replay_all(pool, as_of.unwrap_or(today), |read| {
                bar.set_position(read)
            })
            .await?;
            let events = bar.position();
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "replayed {} statements from {events} declaration events in {seconds:.2}s ({:.0} events/s)",
                all.len(),
                events as f64 / seconds.max(f64::EPSILON)
            );
            print_summaries(pool, &all, &format).await?;
        }
    }
    Ok(())
}

/// One line per statement: who, which, where it stands and what it comes to.
async fn print_summaries(
    pool: &PgPool,
    all: &[crate::finance::StatementBreakdown],
    format: &str,
) -> anyhow::Result<()> {
    use aggregates::finance::pennies;
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(all)?);
        return Ok(());
    }
    let names: std::collections::HashMap<_, _> = lead_providers::all(pool)
        .await?
        .into_iter()
        .map(|provider| (provider.id, provider.name))
        .collect();
    let mut out = csv::WriterBuilder::new()
        .delimiter(if format == "csv" { b',' } else { b'\t' })
        .from_writer(std::io::stdout());
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

async fn find_statement(
    pool: &PgPool,
    choice: &StatementChoice,
) -> anyhow::Result<aggregates::StatementId> {
    let provider = lead_providers::find_by_name(pool, &choice.lead_provider)
        .await?
        .with_context(|| format!("no lead provider is called {:?}", choice.lead_provider))?;
    let programme: aggregates::Programme = choice.programme.parse()?;
    projections::statements::by_name(
        pool,
        LeadProviderId(provider.id),
        programme,
        choice.cohort,
        &choice.month,
    )
    .await?
    .with_context(|| {
        format!(
            "{} has no {} statement for {} in cohort {}",
            choice.lead_provider, choice.programme, choice.month, choice.cohort
        )
    })
}

fn print_breakdown(
    priced: &crate::finance::StatementBreakdown,
    format: &str,
) -> anyhow::Result<()> {
    use aggregates::finance::pennies;
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(priced)?),
        "html" => print!("{}", crate::http::finance::html(priced)),
        "csv" => {
            let mut out = csv::Writer::from_writer(std::io::stdout());
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
        }
        _ => {
            println!(
                "{} statement, {} cohort {} ({:?}{})",
                priced.name,
                priced.programme.to_uppercase(),
                priced.cohort,
                priced.status,
                priced
                    .as_of
                    .map(|at| format!(", as of {at}"))
                    .unwrap_or_default()
            );
            for band in &priced.bands {
                println!(
                    "  {:<12} band {}  {:>5} paid £{:>12.2}  {:>4} clawed back £{:>10.2}",
                    band.declaration_type,
                    band.band,
                    band.additions,
                    pennies(band.output_fee),
                    band.subtractions,
                    pennies(band.clawback)
                );
            }
            for course in &priced.courses {
                println!(
                    "  {:<40} {:>5} paid  {:>4} clawed back  £{:>12.2}",
                    course.course_identifier,
                    course.billable,
                    course.refundable,
                    pennies(course.total)
                );
            }
            for (item, amount) in totals(priced) {
                println!("  {item:<16} £{:>12.2}", pennies(amount));
            }
        }
    }
    Ok(())
}

fn totals(priced: &crate::finance::StatementBreakdown) -> [(&'static str, Decimal); 7] {
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
