// Placeholder: record, state and group verification arrive with issue 5.
