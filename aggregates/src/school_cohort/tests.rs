//! School cohort rules, as given/when/then: set-up, programme choice, partnerships.

use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;

use super::*;

type Cohort = TestFramework<SchoolCohort>;

fn at() -> DateTime<Utc> {
    "2022-09-15T12:00:00Z".parse().unwrap()
}

fn school() -> SchoolId {
    SchoolId::from_urn("100001")
}

fn partner() -> DeliveryPartnerId {
    DeliveryPartnerId::from_name("Partner A")
}

fn request() -> PartnershipRequest {
    PartnershipRequest {
        cohort: Sent::Known(2022),
        school_id: Sent::Known(school()),
        delivery_partner_id: Sent::Known(partner()),
        cip_only: false,
        school_eligible: true,
        partnered_last_year: false,
        has_relationship: true,
    }
}

fn confirm(provider: &str, request: PartnershipRequest) -> SchoolCohortCommand {
    SchoolCohortCommand::Confirm {
        lead_provider_id: LeadProviderId::from_name(provider),
        request: Box::new(request),
        at: at(),
    }
}

fn confirmed(provider: &str) -> SchoolCohortEvent {
    let lead_provider_id = LeadProviderId::from_name(provider);
    SchoolCohortEvent::PartnershipConfirmed {
        partnership_id: PartnershipId::for_school(lead_provider_id, school(), 2022),
        school_id: school(),
        cohort: 2022,
        lead_provider_id,
        delivery_partner_id: partner(),
        challenge_deadline: "2022-10-31T00:00:00Z".parse().unwrap(),
    }
}

fn challenged(provider: &str) -> SchoolCohortEvent {
    let id = PartnershipId::for_school(LeadProviderId::from_name(provider), school(), 2022);
    SchoolCohortEvent::PartnershipChallenged {
        partnership_id: id,
        reason: "mistake".into(),
        at: at(),
    }
}

#[test]
fn a_valid_confirmation_records_the_partnership_with_its_challenge_deadline() {
    Cohort::with(())
        .given_no_previous_events()
        .when(confirm("Teach First", request()))
        .then_expect_events(vec![confirmed("Teach First")]);
}

#[test]
fn a_late_confirmation_gets_fourteen_days_to_challenge() {
    let late = SchoolCohortCommand::Confirm {
        lead_provider_id: LeadProviderId::from_name("Teach First"),
        request: Box::new(request()),
        at: "2022-12-01T09:00:00Z".parse().unwrap(),
    };
    let events = Cohort::with(())
        .given_no_previous_events()
        .when(late)
        .inspect_result()
        .unwrap();
    let SchoolCohortEvent::PartnershipConfirmed {
        challenge_deadline, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        *challenge_deadline,
        "2022-12-15T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn missing_attributes_are_reported_together() {
    Cohort::with(())
        .given_no_previous_events()
        .when(confirm("Teach First", PartnershipRequest::default()))
        .then_expect_error(PartnershipRejection(vec![
            PartnershipError::MissingCohort,
            PartnershipError::MissingSchool,
            PartnershipError::MissingDeliveryPartner,
        ]));
}

#[test]
fn another_providers_unchallenged_partnership_blocks_a_confirmation() {
    Cohort::with(())
        .given(vec![confirmed("Capita")])
        .when(confirm("Teach First", request()))
        .then_expect_error(PartnershipError::OtherProvider.into());
}

#[test]
fn a_challenged_partnership_no_longer_blocks_another_provider() {
    Cohort::with(())
        .given(vec![confirmed("Capita"), challenged("Capita")])
        .when(confirm("Teach First", request()))
        .then_expect_events(vec![confirmed("Teach First")]);
}

#[test]
fn a_school_partnered_last_year_must_set_the_cohort_up() {
    let request = PartnershipRequest {
        partnered_last_year: true,
        ..request()
    };
    Cohort::with(())
        .given_no_previous_events()
        .when(confirm("Teach First", request.clone()))
        .then_expect_error(PartnershipError::NotYetConfirmed.into());
    Cohort::with(())
        .given(vec![SchoolCohortEvent::Opened {
            school_id: school(),
            cohort: 2022,
        }])
        .when(confirm("Teach First", request))
        .then_expect_events(vec![confirmed("Teach First")]);
}

#[test]
fn a_challenged_partnership_cannot_change_delivery_partner() {
    let change = SchoolCohortCommand::ChangeDeliveryPartner {
        partnership_id: PartnershipId::for_school(
            LeadProviderId::from_name("Teach First"),
            school(),
            2022,
        ),
        request: Box::new(PartnershipRequest {
            delivery_partner_id: Sent::Known(DeliveryPartnerId::from_name("Partner B")),
            ..request()
        }),
    };
    Cohort::with(())
        .given(vec![confirmed("Teach First"), challenged("Teach First")])
        .when(change)
        .then_expect_error(PartnershipError::Challenged.into());
}

#[test]
fn only_listed_challenge_reasons_and_programmes_are_accepted() {
    let id = PartnershipId::for_school(LeadProviderId::from_name("Teach First"), school(), 2022);
    Cohort::with(())
        .given(vec![confirmed("Teach First")])
        .when(SchoolCohortCommand::Challenge {
            partnership_id: id,
            reason: "bored".into(),
            at: at(),
        })
        .then_expect_error(PartnershipError::UnknownReason.into());
    Cohort::with(())
        .given_no_previous_events()
        .when(SchoolCohortCommand::ChooseInductionProgramme {
            school_id: school(),
            cohort: 2022,
            choice: "winging_it".into(),
        })
        .then_expect_error(PartnershipError::UnknownProgramme.into());
}
