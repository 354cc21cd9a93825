"""Report room: report.md, its findings checks, the population sections and the plots."""
