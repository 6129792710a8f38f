"""Study expansion (`expand_study`), execution (`run_study`) and resume."""
