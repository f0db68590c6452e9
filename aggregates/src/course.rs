//! Courses, participant types and the reasons providers give for status changes.

use serde::{Deserialize, Serialize};

/// A course a declaration or action names (`course_identifier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Course {
    /// ECF training for an early career teacher.
    EcfInduction,
    /// ECF training for a mentor.
    EcfMentor,
}

impl Course {
    /// The identifier the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcfInduction => "ecf-induction",
            Self::EcfMentor => "ecf-mentor",
        }
    }

    /// Parses an identifier; `None` for anything this ledger does not train.
    pub fn parse(identifier: &str) -> Option<Self> {
        match identifier {
            "ecf-induction" => Some(Self::EcfInduction),
            "ecf-mentor" => Some(Self::EcfMentor),
            _ => None,
        }
    }

    /// The kind of ECF training record the course belongs to.
    pub fn participant_type(self) -> ParticipantType {
        match self {
            Self::EcfInduction => ParticipantType::Ect,
            Self::EcfMentor => ParticipantType::Mentor,
        }
    }
}

/// The two kinds of ECF training record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantType {
    /// An early career teacher.
    Ect,
    /// A mentor.
    Mentor,
}

impl ParticipantType {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ect => "ect",
            Self::Mentor => "mentor",
        }
    }

    /// The course this kind of record trains on.
    pub fn course(self) -> Course {
        match self {
            Self::Ect => Course::EcfInduction,
            Self::Mentor => Course::EcfMentor,
        }
    }
}

/// Whether a provider is training a participant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingStatus {
    /// In training.
    #[default]
    Active,
    /// Paused by the provider.
    Deferred,
    /// Stopped by the provider; final.
    Withdrawn,
}

impl TrainingStatus {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deferred => "deferred",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// Reasons an ECF participant is withdrawn.
pub const ECF_WITHDRAWAL_REASONS: &[&str] = &[
    "left-teaching-profession",
    "moved-school",
    "mentor-no-longer-being-mentor",
    "school-left-fip",
    "started-in-error",
    "other",
];

/// Reasons a participant is deferred.
pub const DEFERRAL_REASONS: &[&str] = &[
    "bereavement",
    "long-term-sickness",
    "parental-leave",
    "career-break",
    "other",
];

/// What a provider may say as `evidence_held` on an ECF declaration after `started`.
pub const EVIDENCE_TYPES: &[&str] = &[
    "training-event-attended",
    "self-study-material-completed",
    "other",
];
