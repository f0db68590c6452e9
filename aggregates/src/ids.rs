//! Identifiers. Reference and sandbox records get ids derived from their natural keys, so that
//! loading the same seed twice addresses the same aggregates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Programme;

/// The namespace for ids derived from natural keys.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c0b_1e4f_3a52_4e8b_9d27_5f1c_0a7e_cd01);

/// An id derived from a natural key (for reference and sandbox records).
pub fn derived(key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A lead provider: one organisation, delivering ECF, NPQ or both.
    LeadProviderId
);
id_type!(
    /// A monthly financial statement of one provider, programme and cohort.
    StatementId
);
id_type!(
    /// A delivery partner working with lead providers.
    DeliveryPartnerId
);
id_type!(
    /// A school, keyed by its URN.
    SchoolId
);
id_type!(
    /// A school's partnership with a lead provider for a cohort.
    PartnershipId
);

id_type!(
    /// A person in training (a user id in the API), shared by their training records.
    ParticipantId
);
id_type!(
    /// One ECF training record (a participant profile): an ECT's or a mentor's.
    TrainingRecordId
);
id_type!(
    /// One declaration.
    DeclarationId
);
id_type!(
    /// One NPQ application; once accepted, also the id of the enrolment it made.
    NpqApplicationId
);

impl LeadProviderId {
    /// The id of the lead provider with this name.
    pub fn from_name(name: &str) -> Self {
        Self(derived(&format!("lead-provider:{name}")))
    }
}

impl StatementId {
    /// The id of a calendar statement: one per provider, programme, cohort and month name.
    pub fn for_calendar(
        provider: LeadProviderId,
        programme: Programme,
        cohort: i32,
        name: &str,
    ) -> Self {
        Self(derived(&format!(
            "statement:{provider}:{}:{cohort}:{name}",
            programme.as_str()
        )))
    }
}

impl DeliveryPartnerId {
    /// The id of the delivery partner with this name.
    pub fn from_name(name: &str) -> Self {
        Self(derived(&format!("delivery-partner:{name}")))
    }
}

impl SchoolId {
    /// The id of the school with this URN.
    pub fn from_urn(urn: &str) -> Self {
        Self(derived(&format!("school:{urn}")))
    }
}

impl PartnershipId {
    /// The id of a provider's partnership with a school for a cohort.
    pub fn for_school(provider: LeadProviderId, school: SchoolId, cohort: i32) -> Self {
        Self(derived(&format!(
            "partnership:{provider}:{school}:{cohort}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let ambition = LeadProviderId::from_name("Ambition Institute");
        assert_eq!(ambition, LeadProviderId::from_name("Ambition Institute"));
        assert_ne!(ambition, LeadProviderId::from_name("Teach First"));
        assert_ne!(
            StatementId::for_calendar(ambition, Programme::Ecf, 2021, "May 2022"),
            StatementId::for_calendar(ambition, Programme::Npq, 2021, "May 2022"),
        );
    }
}
