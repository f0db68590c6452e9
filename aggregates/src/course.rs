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
    /// NPQ for senior leadership.
    NpqSeniorLeadership,
    /// NPQ for headship.
    NpqHeadship,
    /// NPQ for executive leadership.
    NpqExecutiveLeadership,
    /// NPQ for early years leadership.
    NpqEarlyYearsLeadership,
    /// NPQ for leading teaching.
    NpqLeadingTeaching,
    /// NPQ for leading behaviour and culture.
    NpqLeadingBehaviourCulture,
    /// NPQ for leading teacher development.
    NpqLeadingTeachingDevelopment,
    /// NPQ for leading literacy.
    NpqLeadingLiteracy,
    /// The NPQ additional support offer (ASO).
    NpqAdditionalSupportOffer,
    /// The NPQ early headship coaching offer (EHCO).
    NpqEarlyHeadshipCoachingOffer,
}

/// How an NPQ course is scheduled, declared and paid (finance brief §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CourseGroup {
    /// Senior, head, executive and early years leadership.
    Leadership,
    /// Leading teaching, behaviour, teacher development and literacy.
    Specialist,
    /// The additional support offer.
    Support,
    /// The early headship coaching offer.
    Ehco,
}

impl Course {
    /// Every course.
    pub const ALL: [Self; 12] = [
        Self::EcfInduction,
        Self::EcfMentor,
        Self::NpqSeniorLeadership,
        Self::NpqHeadship,
        Self::NpqExecutiveLeadership,
        Self::NpqEarlyYearsLeadership,
        Self::NpqLeadingTeaching,
        Self::NpqLeadingBehaviourCulture,
        Self::NpqLeadingTeachingDevelopment,
        Self::NpqLeadingLiteracy,
        Self::NpqAdditionalSupportOffer,
        Self::NpqEarlyHeadshipCoachingOffer,
    ];

    /// The identifier the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcfInduction => "ecf-induction",
            Self::EcfMentor => "ecf-mentor",
            Self::NpqSeniorLeadership => "npq-senior-leadership",
            Self::NpqHeadship => "npq-headship",
            Self::NpqExecutiveLeadership => "npq-executive-leadership",
            Self::NpqEarlyYearsLeadership => "npq-early-years-leadership",
            Self::NpqLeadingTeaching => "npq-leading-teaching",
            Self::NpqLeadingBehaviourCulture => "npq-leading-behaviour-culture",
            Self::NpqLeadingTeachingDevelopment => "npq-leading-teaching-development",
            Self::NpqLeadingLiteracy => "npq-leading-literacy",
            Self::NpqAdditionalSupportOffer => "npq-additional-support-offer",
            Self::NpqEarlyHeadshipCoachingOffer => "npq-early-headship-coaching-offer",
        }
    }

    /// Parses an identifier; `None` for anything this ledger does not train.
    pub fn parse(identifier: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|course| course.as_str() == identifier)
    }

    /// The kind of ECF training record the course belongs to; `None` for NPQ courses.
    pub fn participant_type(self) -> Option<ParticipantType> {
        match self {
            Self::EcfInduction => Some(ParticipantType::Ect),
            Self::EcfMentor => Some(ParticipantType::Mentor),
            _ => None,
        }
    }

    /// The programme the course belongs to.
    pub fn programme(self) -> crate::Programme {
        match self.npq_group() {
            None => crate::Programme::Ecf,
            Some(_) => crate::Programme::Npq,
        }
    }

    /// The NPQ course group; `None` for ECF courses.
    pub fn npq_group(self) -> Option<CourseGroup> {
        match self {
            Self::EcfInduction | Self::EcfMentor => None,
            Self::NpqSeniorLeadership
            | Self::NpqHeadship
            | Self::NpqExecutiveLeadership
            | Self::NpqEarlyYearsLeadership => Some(CourseGroup::Leadership),
            Self::NpqLeadingTeaching
            | Self::NpqLeadingBehaviourCulture
            | Self::NpqLeadingTeachingDevelopment
            | Self::NpqLeadingLiteracy => Some(CourseGroup::Specialist),
            Self::NpqAdditionalSupportOffer => Some(CourseGroup::Support),
            Self::NpqEarlyHeadshipCoachingOffer => Some(CourseGroup::Ehco),
        }
    }

    /// Whether a `completed` declaration records a pass or fail (NPQ, except ASO and EHCO).
    pub fn has_outcomes(self) -> bool {
        matches!(
            self.npq_group(),
            Some(CourseGroup::Leadership | CourseGroup::Specialist)
        )
    }

    /// The course that counts as this one when deciding whether a person already holds a
    /// place or was funded before: ASO and EHCO count as one.
    pub fn twin(self) -> Self {
        match self {
            Self::NpqEarlyHeadshipCoachingOffer => Self::NpqAdditionalSupportOffer,
            course => course,
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

/// The kinds of training a known person holds, which decide the courses that are theirs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Profiles {
    /// An ECT training record.
    pub ect: bool,
    /// A mentor training record.
    pub mentor: bool,
    /// An NPQ enrolment (an accepted application), with any provider.
    pub npq: bool,
}

impl Profiles {
    /// Whether `course` is one of the person's. As in the real service, an NPQ enrolment
    /// makes every NPQ course theirs; which one they are enrolled on is the provider check's
    /// business (the participant error), not the course's.
    pub fn cover(self, course: Course) -> bool {
        match course.participant_type() {
            Some(ParticipantType::Ect) => self.ect,
            Some(ParticipantType::Mentor) => self.mentor,
            None => self.npq,
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

/// Reasons an NPQ participant is withdrawn (one of them ends in a full stop, as the API has it).
pub const NPQ_WITHDRAWAL_REASONS: &[&str] = &[
    "insufficient-capacity-to-undertake-programme",
    "personal-reason-health-or-pregnancy-related",
    "personal-reason-moving-school",
    "personal-reason-other",
    "insufficient-capacity",
    "change-in-developmental-or-personal-priorities",
    "change-in-school-circumstances",
    "change-in-school-leadership",
    "quality-of-programme-structure-not-suitable.",
    "quality-of-programme-content-not-suitable",
    "quality-of-programme-facilitation-not-effective",
    "quality-of-programme-accessibility",
    "quality-of-programme-other",
    "programme-not-appropriate-for-role-and-cpd-needs",
    "started-in-error",
    "expected-commitment-unclear",
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
