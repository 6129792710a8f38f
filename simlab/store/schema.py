"""The run store's tables.

`studies` (one row per study), `runs` (one per negotiation or trial), `turns`
(one per turn), `llm_calls` (one per backend call) and `meta` (schema version).
Columns holding structures (offers, conditions, beliefs) are JSON text so the
schema stays stable as strategies log more; DuckDB's JSON functions read them.
The parts of a run's condition (each role's agent and strategy, the named
condition) are also plain columns (`simlab.store.conditions`), so queries
group and facet by them.

Version history: 1 (first release); 2 adds the condition columns of `runs`
(`simlab.store.migrate` upgrades a version-1 store in place); 2 also adds
`llm_calls.sanitized` (a reply altered to be storable, see `simlab.llm.sanitize`).
"""
from __future__ import annotations

SCHEMA_VERSION = 2

TABLES: dict[str, str] = {
    "meta": """
        CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)
    """,
    "studies": """
        CREATE TABLE IF NOT EXISTS studies (
            study_id VARCHAR PRIMARY KEY,
            description VARCHAR,
            config_json VARCHAR,
            config_path VARCHAR,
            n_runs_planned INTEGER,
            created_at TIMESTAMP,
            updated_at TIMESTAMP
        )
    """,
    "runs": """
        CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY,
            study_id VARCHAR,
            scenario VARCHAR,
            domain VARCHAR,
            protocol VARCHAR,
            condition VARCHAR,
            condition_json VARCHAR,
            seed BIGINT,
            replicate INTEGER,
            backend VARCHAR,
            model VARCHAR,
            is_llm BOOLEAN,
            agents_json VARCHAR,
            status VARCHAR,
            error VARCHAR,
            outcome VARCHAR,
            agreement BOOLEAN,
            agreed_offer_json VARCHAR,
            utilities_json VARCHAR,
            utility_a DOUBLE,
            utility_b DOUBLE,
            rounds INTEGER,
            n_turns INTEGER,
            social_welfare DOUBLE,
            pareto_distance DOUBLE,
            nash_distance DOUBLE,
            metrics_json VARCHAR,
            ethics_violations INTEGER,
            parse_failures INTEGER,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            wall_s DOUBLE,
            llm_s DOUBLE,
            spec_json VARCHAR,
            finished_at TIMESTAMP,
            role_a VARCHAR,
            slot_a VARCHAR,
            agent_a VARCHAR,
            strategy_a VARCHAR,
            role_b VARCHAR,
            slot_b VARCHAR,
            agent_b VARCHAR,
            strategy_b VARCHAR,
            condition_name VARCHAR
        )
    """,
    "turns": """
        CREATE TABLE IF NOT EXISTS turns (
            run_id VARCHAR,
            turn_index INTEGER,
            round INTEGER,
            speaker VARCHAR,
            role VARCHAR,
            action VARCHAR,
            offer_json VARCHAR,
            emotion VARCHAR,
            message VARCHAR,
            parse_failed BOOLEAN,
            utility_self DOUBLE,
            utility_other DOUBLE,
            decision_json VARCHAR,
            ethics_json VARCHAR,
            detected_json VARCHAR,
            belief_json VARCHAR,
            experts_json VARCHAR,
            PRIMARY KEY (run_id, turn_index)
        )
    """,
    "llm_calls": """
        CREATE TABLE IF NOT EXISTS llm_calls (
            run_id VARCHAR,
            turn_index INTEGER,
            attempt INTEGER,
            backend VARCHAR,
            model VARCHAR,
            is_llm BOOLEAN,
            prompt_tokens INTEGER,
            prompt_tokens_evaluated INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            cache_hit BOOLEAN,
            parse_failed BOOLEAN,
            sanitized BOOLEAN
        )
    """,
}

TABLE_ORDER = ("meta", "studies", "runs", "turns", "llm_calls")
