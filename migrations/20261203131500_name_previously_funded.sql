-- Whether a person holds another accepted, funded application for the same course, the
-- additional support offer and early headship coaching offer counting as one: the
-- `previously-funded` reason an application is not funded. Named once so that the
-- applications query and a write answered from its own commit ask the same question.
create function npq_previously_funded(person uuid, application uuid, course text)
returns boolean
language sql stable
as $$
    select exists (
        select 1 from npq_applications o
        where o.participant_id = person and o.id <> application
          and o.status = 'accepted' and o.eligible_for_funding
          and (o.course_identifier = course
               or o.course_identifier in ('npq-additional-support-offer',
                                          'npq-early-headship-coaching-offer')
                  and course in ('npq-additional-support-offer',
                                 'npq-early-headship-coaching-offer'))
    )
$$;
