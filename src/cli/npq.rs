//! `npq`: the NPQ registration side (recording an application).

use clap::Subcommand;

use crate::ledger::{Actor, CommandContext, Ledger};

/// NPQ registration-side commands.
#[derive(Debug, Subcommand)]
pub enum NpqRegistrationCommand {
    /// Record an application; prints the application id and the applicant's id.
    Apply(Box<crate::flows::npq::NewApplication>),
}

/// Runs an NPQ registration-side command as the CLI's operator.
pub async fn npq(ledger: &Ledger, command: NpqRegistrationCommand) -> anyhow::Result<()> {
    match command {
        NpqRegistrationCommand::Apply(new) => {
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
