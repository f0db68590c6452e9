//! `school`: the school-side commands on partnerships and cohorts.

use anyhow::Context;
use clap::Subcommand;
use uuid::Uuid;

use crate::ledger::{Actor, CommandContext, Ledger};

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
