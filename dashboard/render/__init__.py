"""Pure rendering: chart builders, the report's words and numbers, its PDF, PowerPoint and CSV files."""
