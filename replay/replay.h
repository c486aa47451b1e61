// Placeholder: replay into a clean sandbox and the state hash arrive with issue 4.
