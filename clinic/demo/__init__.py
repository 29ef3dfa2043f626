"""Demo data at volume: years of a busy clinic's leads, calls, timelines, audit and e-mails."""
