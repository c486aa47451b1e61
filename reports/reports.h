// Placeholder: JUnit XML, Markdown, HTML and evidence reports arrive with issue 6.
