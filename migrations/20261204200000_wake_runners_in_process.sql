-- Every process that appends events runs a projection runner and wakes it itself once the
-- command has committed, so the log no longer notifies on insert. A NOTIFY makes its
-- transaction take one lock for the whole database until it ends, past the commit's flush to
-- disk: with it, concurrent writers committed one after another, never together.
drop trigger events_notify on events;
drop function notify_events_committed();
