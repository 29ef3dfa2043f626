"""Staff work on leads: the pipeline list, one lead's page, exports and erasure. Sits above
booking (a lead's calls) and leads (the record of each person)."""
